"""What is published stays published (issue #9, items 1 and 2), through the CLI on both
databases.

A round keeps the units it was created with: importing next month's units (new ones, a rename,
a retirement) changes neither a closed round's ranking nor its circular, and later rounds get
the new list. A published circular is replaced only by a re-issue with a reason, which the new
version prints and the audit log keeps. A round with no ballots at all is not ranked or
published unless forced.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from service.models.audit import AuditEntry
from service.models.results import Circular
from service.store.engine import make_engine, session_scope
from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import GROUP, SMALL

UNITS = {"A": "法院", "B": "法院", "C": "公安局", "D": "公安局"}
MEMBERS = {f"P{i}": GROUP for i in range(1, 7)}
ALL_SATISFIED = dict.fromkeys(UNITS, "满意")


@pytest.fixture
def october(migrated_db_url: str, tmp_path: Path) -> Evaluation:
    """Round 2026-10 with five ballots, ranked, its circular v1 published."""
    ev = Evaluation(migrated_db_url, tmp_path, UNITS, MEMBERS, rules=SMALL)
    answers = [ALL_SATISFIED, {**ALL_SATISFIED, "B": "基本满意"}, {**ALL_SATISFIED, "C": "不满意"}]
    ev.ingest([ev.ballot(f"P{i}", answers[i % 3]) for i in range(1, 6)])
    ev.cli("circular", ev.round, "-o", str(tmp_path / "v1.pdf"))
    return ev


def next_months_units(tmp_path: Path) -> str:
    """30 new units, A renamed, B retired: an ordinary import for the next month."""
    rows = ["code,name,system,active", "A,A单位（更名）,法院,1", "B,B单位,法院,停用"]
    rows += ["C,C单位,公安局,", "D,D单位,公安局,"]
    rows += [f"N{i:02d},新单位{i},司法局,1" for i in range(1, 31)]
    path = tmp_path / "units-next.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def circulars(ev: Evaluation) -> list[tuple[int, str, str | None]]:
    with session_scope(make_engine(ev.db_url)) as s:
        rows = s.execute(
            select(Circular.version, Circular.sha256, Circular.reason)
            .where(Circular.round_id == ev.round, Circular.format == "pdf")
            .order_by(Circular.version)
        )
        return [tuple(r) for r in rows]


def test_importing_next_months_units_changes_nothing_published(october, tmp_path) -> None:
    ev = october
    before = ev.rank()
    published = circulars(ev)
    assert [v for v, _, _ in published] == [1]
    assert before["valid"] and before["participation"]["valid_ballots"] == 5

    ev.cli("import", "units", next_months_units(tmp_path), "--new-system", "司法局")

    after = ev.rank()
    assert after == before  # names, systems, scores, validity: all as published
    assert {u["name"] for u in after["units"]} == {"A单位", "B单位", "C单位", "D单位"}
    assert circulars(ev) == published
    # The units the round evaluates are still its own.
    assert [u["code"] for u in ev.cli.json("round", "units", ev.round)] == list("ABCD")
    # A veto may only name a unit of the round.
    out = ev.cli("veto", "add", ev.round, "N01", "--reason", "x", ok=False)
    assert "not one of round '2026-10'" in out and "after the round was created" in out

    # The next round is created with the new list: A renamed, B retired, 30 new units.
    ev.new_round("2026-11", "2026-11-01", "2026-11-30", list(MEMBERS))
    units = {u["code"]: u for u in ev.cli.json("round", "units", "2026-11")}
    assert len(units) == 33 and "B" not in units
    assert units["A"]["name"] == "A单位（更名）" and units["N07"]["system"] == "司法局"
    listed = {r["id"]: r for r in ev.cli.json("round", "list")}
    assert listed["2026-10"]["units"] == 4 and listed["2026-11"]["units"] == 33
    assert listed["2026-10"]["circular_version"] == 1 and listed["2026-10"]["ballots"] == 5


def test_a_published_circular_is_replaced_only_by_a_reissue_with_a_reason(
    october, tmp_path
) -> None:
    ev = october
    ((version, sha, reason),) = circulars(ev)
    assert (version, reason) == (1, None)

    out = ev.cli("circular", ev.round, "-o", str(tmp_path / "again.pdf"), ok=False)
    assert "already has circular version 1" in out and "--reissue" in out
    assert not (tmp_path / "again.pdf").exists()
    assert circulars(ev) == [(1, sha, None)]

    # --stored hands out exactly what readers have.
    ev.cli("circular", ev.round, "--stored", "-o", str(tmp_path / "stored.pdf"))
    assert hashlib.sha256((tmp_path / "stored.pdf").read_bytes()).hexdigest() == sha

    # A veto decided late, then the re-issue that carries it.
    ev.veto("C", "重大失误")
    why = "补充一票否决决定"
    ev.cli("circular", ev.round, "--reissue", why, "-o", str(tmp_path / "v2.pdf"))
    assert [(v, r) for v, _, r in circulars(ev)] == [(1, None), (2, why)]
    text = (
        subprocess.run(
            ["pdftotext", "-layout", str(tmp_path / "v2.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.replace(" ", "")
        .replace("\n", "")
    )
    assert "本通报为第2版" in text and "代替" in text and "第1版" in text and why in text
    with session_scope(make_engine(ev.db_url)) as s:
        details = [
            json.loads(d) if isinstance(d, str) else d
            for d in s.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "circular.publish")
            )
        ]
    assert [d.get("reason") for d in details] == [None, why]
    assert details[1]["replaces"] == 1


def test_a_withdrawn_veto_is_audited_and_needs_a_reason(october) -> None:
    ev = october
    ev.veto("D", "重大失误")
    assert ev.rank()["units"][-1]["code"] == "D"
    assert "needs a reason" in ev.cli("veto", "remove", ev.round, "D", "--reason", " ", ok=False)
    assert "not vetoed" in ev.cli("veto", "remove", ev.round, "A", "--reason", "x", ok=False)
    ev.cli("veto", "remove", ev.round, "D", "--reason", "复核后撤销")
    assert not any(u.get("vetoed") for u in ev.rank()["units"])
    with session_scope(make_engine(ev.db_url)) as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("veto.%"))))
    assert actions == ["veto.add", "veto.remove"]


def test_a_round_with_no_ballots_is_not_ranked_or_published_unless_forced(
    migrated_db_url: str, tmp_path: Path
) -> None:
    ev = Evaluation(migrated_db_url, tmp_path, UNITS, MEMBERS, rules=SMALL)
    out = ev.cli("rank", ev.round, ok=False)
    assert "no ballots at all" in out and "--force" in out
    out = ev.cli("circular", ev.round, "-o", str(tmp_path / "empty.pdf"), ok=False)
    assert "no ballots at all" in out
    assert not (tmp_path / "empty.pdf").exists() and circulars(ev) == []
    # Forced: the office wants it on record that nobody answered.
    ranked = ev.cli.json("rank", ev.round, "--force")
    assert ranked["participation"]["ballots"] == 0 and not ranked["valid"]


def test_closing_a_round_through_the_cli(october) -> None:
    ev = october
    ev.cli("round", "close", ev.round)
    assert "already closed" in ev.cli("round", "close", ev.round, ok=False)
    assert [r["status"] for r in ev.cli.json("round", "list", "--status", "closed")] == ["closed"]
    # A ballot received after the close is kept, as rejected with its reason.
    counts = ev.ingest([ev.ballot("P6", ALL_SATISFIED)])
    assert counts["rejected"] == 1


def test_the_service_never_replaces_a_published_circular_by_itself(october) -> None:
    """A veto after the close changes the ranking; the service's jobs (inline here) must not
    publish version 2: the round is reported outdated, and version 1 is still served."""
    from service.config import load_config
    from service.web.app import create_app

    ev = october
    token = ev.cli("token", "create", "--role", "admin").split()[0]
    # The app runs its jobs inline, with its own config: the same rules as the CLI's.
    app = create_app(load_config({}, ev.cli.config, ev.db_url))
    try:
        client = app.test_client()
        auth = {"Authorization": f"Bearer {token}"}
        assert client.post(f"/api/v1/rounds/{ev.round}/close", headers=auth).status_code == 200
        before = circulars(ev)
        assert not client.get(f"/api/v1/rounds/{ev.round}", headers=auth).get_json()[
            "circular_outdated"
        ]
        veto = {"unit": "C", "reason": "重大失误"}
        assert (
            client.post(f"/api/v1/rounds/{ev.round}/vetoes", json=veto, headers=auth).status_code
            == 201
        )
        assert circulars(ev) == before  # no silent version 2
        detail = client.get(f"/api/v1/rounds/{ev.round}", headers=auth).get_json()
        assert detail["circular_outdated"] and detail["circular_version"] == before[-1][0]
        pdf = client.get(f"/api/v1/rounds/{ev.round}/circular.pdf", headers=auth)
        assert pdf.status_code == 200 and pdf.headers["X-Pingyi-Sha256"] == before[-1][1]
    finally:
        app.extensions["pingyi"].engine.dispose()


def test_staff_withdraw_a_veto_and_reissue_through_the_api(october) -> None:
    """The API's counterparts of ``veto remove`` and ``circular --reissue``: both need a reason,
    both are audit-logged as the API's doing, and the new version prints its reason; nothing
    is re-issued for a round that has published nothing."""
    from service.config import load_config
    from service.web import schemas
    from service.web.app import create_app

    ev = october
    token = ev.cli("token", "create", "--role", "admin").split()[0]
    viewer = ev.cli("token", "create", "--role", "viewer").split()[0]
    app = create_app(load_config({}, ev.cli.config, ev.db_url))
    auth = {"Authorization": f"Bearer {token}"}
    base = f"/api/v1/rounds/{ev.round}"
    try:
        client = app.test_client()
        assert client.post(f"{base}/close", headers=auth).status_code == 200
        veto = {"unit": "C", "reason": "重大失误"}
        assert client.post(f"{base}/vetoes", json=veto, headers=auth).status_code == 201
        refused = client.delete(f"{base}/vetoes/C", json={"reason": "  "}, headers=auth)
        assert refused.status_code == 400
        assert (
            client.delete(f"{base}/vetoes/A", json={"reason": "x"}, headers=auth).status_code == 404
        )
        as_viewer = {"Authorization": f"Bearer {viewer}"}
        assert (
            client.delete(f"{base}/vetoes/C", json={"reason": "x"}, headers=as_viewer).status_code
            == 403
        )
        withdrawn = client.delete(
            f"{base}/vetoes/C", json={"reason": "复核后撤销", "by": "县委政法委"}, headers=auth
        )
        assert withdrawn.status_code == 200, withdrawn.get_data(as_text=True)
        assert withdrawn.get_json() == {"round": ev.round, "unit": "C", "withdrawn": "复核后撤销"}
        assert client.post(f"{base}/circular", json={}, headers=auth).status_code == 400
        before = circulars(ev)
        done = client.post(f"{base}/circular", json={"reason": "撤销否决后重发"}, headers=auth)
        assert done.status_code == 200, done.get_data(as_text=True)
        assert not schemas.AcceptedSchema().validate(done.get_json())
        assert done.get_json()["version"] == before[-1][0] + 1
        after = circulars(ev)
        assert after[:-1] == before and after[-1][2] == "撤销否决后重发"
        detail = client.get(f"{base}", headers=auth).get_json()
        assert not detail["circular_outdated"]
        pdf = client.get(f"{base}/circular.pdf", headers=auth)
        assert pdf.headers["X-Pingyi-Sha256"] == after[-1][1]
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True,
                              check=True).stdout.decode()  # fmt: skip
        assert "更正原因：撤销否决后重发" in "".join(text.split())  # the line may break in it
        ev.cli("round", "create", "2026-11", "--opens", "2026-11-01", "--closes", "2026-11-30")
        nothing = client.post("/api/v1/rounds/2026-11/circular", json={"reason": "x"}, headers=auth)
        assert (
            nothing.status_code == 409 and "no published circular" in nothing.get_json()["message"]
        )
    finally:
        app.extensions["pingyi"].engine.dispose()
    with session_scope(make_engine(ev.db_url)) as s:
        rows = s.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.detail)
            .where(AuditEntry.action.in_(["veto.add", "veto.remove", "circular.publish"]))
            .order_by(AuditEntry.id)
        ).all()
    assert [(a, actor) for a, actor, _ in rows][-3:] == [
        ("veto.add", "api"),
        ("veto.remove", "api"),
        ("circular.publish", "api"),
    ]
    assert rows[-1][2]["reason"] == "撤销否决后重发" and rows[-2][2]["reason"] == "复核后撤销"
