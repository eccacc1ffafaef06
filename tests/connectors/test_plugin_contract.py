"""A platform is a plug-in: registered through the registry alone (tests/connectors/toy_platform.py),
it gets its ``source add`` options on the command line and in the API, its webhooks verified by
the real receiver and parsed by the real inbox job, its export read by ``ingest --format`` and
its links written — and a secret's value shows up nowhere. Every test runs on SQLite and
PostgreSQL, the web app in-process (its queue inline, so the inbox job runs in the request).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.registry import register, unregister
from service.config import Config
from service.models.audit import AuditEntry
from service.models.ballots import Ballot
from service.models.inbox import InboxDelivery
from service.store.engine import make_engine, session_scope
from service.web.app import create_app
from tests.connectors.toy_platform import TOY, URL_KEY, platform_token, signature
from tests.fake_limesurvey import ROUND, setup_round

KEY = "toy-key-Zq81-never-shown"
AT = "2026-11-20T10:00:00+08:00"  # inside round 2026-11's window


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch):
    register(TOY)
    monkeypatch.setenv("TOY_KEY", KEY)
    yield TOY
    unregister(TOY.kind)


def add_toy(cli, name: str = "ts", *extra: str, ok: bool = True) -> str:
    return cli(
        "source", "add", name, "--kind", "toy", "--round", ROUND, "--form", "F1",
        "--key-env", "TOY_KEY", *extra, ok=ok,
    )  # fmt: skip


def web(cli):
    """The real app on the test's database; its environment holds the toy key."""
    return create_app(Config(database_url=cli.db, environ={"TOY_KEY": KEY})).test_client()


def bearer(cli, role: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + cli("token", "create", "--role", role).split()[0]}


def test_a_registered_platform_gets_its_options_on_the_command_line(cli, tmp_path: Path, toy):
    setup_round(cli, tmp_path)
    usage = cli("source", "add", "--help")
    assert "--form TEXT" in usage and "--key-env VAR" in usage and "--loud" in usage
    assert "[toy]" in usage and ("toy|" in usage or "|toy" in usage)
    out = add_toy(cli, "ts", "--loud")
    assert "source ts added: toy for round 2026-11" in out
    assert "form F1, 5 units" in out and "  loud" in out and "senders POST to /hooks/ts" in out
    [row] = cli.json("source", "list")
    assert row["config"] == {"form": "F1", "key_env": "TOY_KEY"}
    assert row["secrets"] == {"key": "TOY_KEY"} and row["secrets_set"] == {"TOY_KEY": True}
    # Without the platform, its options are gone from the command line.
    # (--form stays: 金数据 takes one too; --loud is the toy's alone.)
    unregister("toy")
    assert "--loud" not in cli("source", "add", "--help")


def test_an_option_of_another_kind_is_refused_naming_it(cli, tmp_path: Path, toy, monkeypatch):
    setup_round(cli, tmp_path)
    wrong = add_toy(cli, "t1", "--secret-env", "X", ok=False)
    assert (
        "--secret-env: not an option of a toy source (its options: --form, --key-env, --loud)"
        in wrong
    )
    other = cli(
        "source", "add", "sw", "--kind", "standard-webhooks", "--round", ROUND,
        "--secret-env", "X", "--form", "F1", ok=False,
    )  # fmt: skip
    assert "--form: not an option of a standard-webhooks source" in other
    missing = cli("source", "add", "t2", "--kind", "toy", "--round", ROUND, ok=False)
    assert "--form: Missing data for required field." in missing
    monkeypatch.delenv("TOY_KEY")
    assert "environment variable TOY_KEY is not set (it holds the key)" in add_toy(cli, ok=False)
    assert cli.json("source", "list") == []


def test_the_api_lists_kinds_and_adds_a_source_as_the_command_line_does(
    cli, tmp_path: Path, toy
) -> None:
    setup_round(cli, tmp_path)
    client, admin, viewer = web(cli), bearer(cli, "admin"), bearer(cli, "viewer")
    kinds = client.get("/api/v1/source-kinds", headers=viewer).get_json()
    toy_kind = next(k for k in kinds["kinds"] if k["kind"] == "toy")
    assert (toy_kind["webhooks"], toy_kind["polled"], toy_kind["export"], toy_kind["links"]) == (
        True, False, True, True,
    )  # fmt: skip
    assert {o["name"]: (o["type"], o["required"], o["secret"]) for o in toy_kind["options"]} == {
        "form": ("string", True, None),
        "key_env": ("string", True, "key"),
        "loud": ("boolean", False, None),
    }
    assert {"canonical", "toy"} <= set(kinds["formats"])
    assert client.get("/api/v1/source-kinds").status_code == 401
    body = {"name": "ts", "kind": "toy", "round": ROUND, "options": {"form": "F1", "key_env": "TOY_KEY"}}  # fmt: skip
    assert client.post("/api/v1/sources", json=body, headers=viewer).status_code == 403
    added = client.post("/api/v1/sources", json=body, headers=admin)
    assert added.status_code == 201, added.get_json()
    assert added.get_json()["form"] == "F1" and added.get_json()["hook"] == "/hooks/ts"
    again = client.post("/api/v1/sources", json=body, headers=admin)
    assert again.status_code == 400 and "already exists" in again.get_json()["message"]
    replaced = client.post("/api/v1/sources", json={**body, "replace": True}, headers=admin)
    assert replaced.status_code == 200
    other = {**body, "name": "t2", "options": {**body["options"], "secret_env": "X"}}
    wrong = client.post("/api/v1/sources", json=other, headers=admin)
    assert wrong.status_code == 400
    assert "secret_env: not an option of a toy source" in wrong.get_json()["message"]
    bad = client.post(
        "/api/v1/sources", json={**other, "options": {"form": "F1", "key_env": "not a name"}},
        headers=admin,
    )  # fmt: skip
    assert bad.status_code == 400 and "key_env" in bad.get_json()["options"]
    assert [s["name"] for s in cli.json("source", "list")] == ["ts"]


def test_the_receiver_verifies_and_the_inbox_parses_a_registered_platforms_webhooks(
    cli, tmp_path: Path, toy
) -> None:
    tokens = setup_round(cli, tmp_path)
    add_toy(cli)
    client = web(cli)

    def post(body: bytes, sig: str | None = None, delivery: str = "d1"):
        headers = {"X-Toy-Signature": sig or signature(KEY, body), "X-Toy-Delivery": delivery}
        return client.post("/hooks/ts", data=body, headers=headers)

    ballot = {"id": "r1", "token": platform_token(tokens[0]), "submitted_at": AT,
              "answers": {u: "满意" for u in ("U01", "U02", "U03", "U04", "U05")}}  # fmt: skip
    body = json.dumps({"event": "answer", "answers": [ballot]}).encode()
    forged = post(body, sig="0" * 64)
    assert forged.status_code == 401 and forged.get_json()["message"] == "bad toy signature"
    assert post(b"{oops").status_code == 400
    assert post(b'{"event": "ping"}').get_json() == {"status": "ignored"}
    stored = post(body)
    assert (stored.status_code, stored.get_json()) == (
        202,
        {"status": "accepted", "delivery": "d1"},
    )
    assert post(body).get_json() == {"status": "duplicate", "delivery": "d1"}
    assert client.post("/hooks/nobody", data=body).status_code == 404
    # A key in the URL reaches the platform's verifier, which decides.
    keyed = {"X-Toy-Signature": signature(KEY, body), "X-Toy-Delivery": "d2"}
    wrong = client.post("/hooks/ts/guess", data=body, headers=keyed)
    assert (wrong.status_code, wrong.get_json()["message"]) == (401, "wrong key in the URL")
    assert client.post(f"/hooks/ts/{URL_KEY}", data=body, headers=keyed).status_code == 202
    assert client.get("/hooks/ts").status_code == 405
    with session_scope(make_engine(cli.db)) as s:
        delivery = s.scalars(select(InboxDelivery).where(InboxDelivery.delivery_id == "d1")).one()
        [got] = s.scalars(select(Ballot).where(Ballot.source == "ts")).all()
        # Kept: only the headers the platform keeps; done by the inbox job in the request.
        assert (delivery.status, delivery.headers) == ("done", {"x-toy-delivery": "d1"})
        # The platform's copy of the token came back as the seat's own.
        assert (got.response_id, got.token, got.status) == ("r1", tokens[0], "accepted")


def test_ingest_reads_a_registered_platforms_export(cli, tmp_path: Path, toy) -> None:
    tokens = setup_round(cli, tmp_path)
    export = tmp_path / "toy.csv"
    export.write_text(
        f"id,token,submitted_at,U01,U02\nx1,{tokens[0]},{AT},满意,基本满意\nx2,nobody,{AT},满意,\n",
        encoding="utf-8",
    )
    got = cli.json("ingest", ROUND, str(export), "--format", "toy")
    assert (got["records"], got["new"], got["rejected"]) == (2, 2, 1)
    assert cli.json("ingest", ROUND, str(export), "--format", "toy")["unchanged"] == 2
    refused = cli("ingest", ROUND, str(export), "--format", "xml", ok=False)
    # Every format ingest reads is named, the built-in ones and the plug-in's.
    assert "unknown format 'xml' (known: canonical, " in refused and ", toy)" in refused


def test_an_export_given_its_source_reconciles_with_what_the_source_received(
    cli, tmp_path: Path, toy
) -> None:
    """``ingest --source``: the export's records are the source's own (a ballot the push already
    brought is the same ballot) and the platform's copies of tokens come back as seats' tokens."""
    tokens = setup_round(cli, tmp_path)
    add_toy(cli)
    ballot = {"id": "r1", "token": platform_token(tokens[0]), "submitted_at": AT,
              "answers": {"U01": "满意"}}  # fmt: skip
    body = json.dumps({"event": "answer", "answers": [ballot]}).encode()
    headers = {"X-Toy-Signature": signature(KEY, body), "X-Toy-Delivery": "d1"}
    assert web(cli).post("/hooks/ts", data=body, headers=headers).status_code == 202
    export = tmp_path / "toy.csv"
    export.write_text(
        f"id,token,submitted_at,U01\nr1,{platform_token(tokens[0])},{AT},满意\n"
        f"r2,{platform_token(tokens[1])},{AT},基本满意\n",
        encoding="utf-8",
    )
    got = cli.json("ingest", ROUND, str(export), "--format", "toy", "--source", "ts")
    assert (got["records"], got["new"], got["unchanged"], got["rejected"]) == (2, 1, 1, 0)
    with session_scope(make_engine(cli.db)) as s:
        stored = s.execute(select(Ballot.source, Ballot.response_id, Ballot.token)).all()
    assert sorted(stored) == [("ts", "r1", tokens[0]), ("ts", "r2", tokens[1])]
    wrong_kind = cli("ingest", ROUND, str(export), "--format", "canonical", "--source", "ts",
                     ok=False)  # fmt: skip
    assert "source 'ts' is a toy source; its exports are --format toy" in wrong_kind
    cli("round", "create", "2026-12", "--opens", "2026-12-01T00:00:00+08:00",
        "--closes", "2026-12-20T00:00:00+08:00")  # fmt: skip
    other = cli("ingest", "2026-12", str(export), "--format", "toy", "--source", "ts", ok=False)
    assert "source 'ts' takes ballots for round '2026-11', not '2026-12'" in other
    assert "unknown source 'nope'" in cli(
        "ingest", ROUND, str(export), "--format", "toy", "--source", "nope", ok=False
    )


def test_links_are_written_in_the_sources_platform_form(cli, tmp_path: Path, toy) -> None:
    tokens = setup_round(cli, tmp_path)
    add_toy(cli)
    out = tmp_path / "links.csv"
    assert "5 links" in cli("panel", "links", ROUND, "--source", "ts", "-o", str(out))
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "evaluator,name,group,link" and len(lines) == 6
    by_id = {line.split(",")[0]: line.split(",") for line in lines[1:]}
    assert by_id["P1"][3] == f"https://toy.example/f/F1?t={platform_token(tokens[0])}"
    assert "give --template or --source" in cli("panel", "links", ROUND, "-o", str(out), ok=False)
    assert "has no participants to push" in cli("source", "push-panel", "ts", ok=False)
    cli("source", "add", "sw", "--kind", "standard-webhooks", "--round", ROUND, "--secret-env", "X")
    no_links = cli("panel", "links", ROUND, "--source", "sw", "-o", str(out), ok=False)
    assert "a standard-webhooks source has no personal links" in no_links


def test_a_secret_value_never_reaches_the_list_the_api_or_the_audit_log(
    cli, tmp_path: Path, toy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = setup_round(cli, tmp_path)
    seen = [add_toy(cli, "ts"), cli("source", "add", "ts", "--kind", "toy", "--round", ROUND,
            "--form", "F2", "--key-env", "TOY_KEY", "--replace", "--json")]  # fmt: skip
    client, admin = web(cli), bearer(cli, "admin")
    body = {"name": "t2", "kind": "toy", "round": ROUND, "options": {"form": "F1", "key_env": "TOY_KEY"}}  # fmt: skip
    for answer in (
        client.post("/api/v1/sources", json=body, headers=admin),
        client.get("/api/v1/source-kinds", headers=admin),
        client.get("/api/v1/status", headers=admin),
        client.post(
            "/hooks/ts", data=b"{}", headers={"X-Toy-Signature": "x", "X-Toy-Delivery": "d"}
        ),
    ):
        seen.append(answer.get_data(as_text=True))
    payload = json.dumps({"event": "answer", "answers": [
        {"id": "r1", "token": platform_token(tokens[0]), "submitted_at": AT, "answers": {"U01": "满意"}}
    ]}).encode()  # fmt: skip
    headers = {"X-Toy-Signature": signature(KEY, payload), "X-Toy-Delivery": "d1"}
    assert client.post("/hooks/t2", data=payload, headers=headers).status_code == 202  # key used
    seen += [cli("source", "list"), cli("source", "list", "--json")]
    with session_scope(make_engine(cli.db)) as s:
        seen += [json.dumps(a.detail, ensure_ascii=False) for a in s.scalars(select(AuditEntry))]
        seen += [json.dumps(d.headers) + d.body.decode() for d in s.scalars(select(InboxDelivery))]
    assert len(seen) > 10 and "TOY_KEY" in "".join(seen)  # the variable's name is shown …
    assert not [text for text in seen if KEY in text]  # … its value never
    assert KEY not in caplog.text and KEY not in repr(client.application.extensions["pingyi"])
