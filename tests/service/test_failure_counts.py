"""Every delivery becomes a ballot, a rejected ballot with its reason, or a counted failure
(issue #9 item 3): deliveries pending or parked as failed and rejected ballots by kind of reason
are counted in ``GET /api/v1/status`` (overall and per round), on the status page and in
``/metrics``; ``pingyi inbox list --failed`` shows a failed one and ``pingyi inbox retry`` puts
it back. On SQLite and PostgreSQL, jobs in this process (no Redis), the web app through Flask's
test client.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.standard_webhooks import connector as standard_webhooks
from jobs.inbox import MAX_ATTEMPTS, ingest_inbox
from service.config import Config
from service.models.ballots import Ballot
from service.store.engine import make_engine, session_scope
from service.store.inbox import InboxWriter
from service.store.status import REASON_KINDS, reason_kind
from service.store.work import close_round
from service.web import schemas
from service.web.app import create_app
from tests.jobs.test_ingest import ballot, setup_round, write_jsonl

ROUND = "2026-10"
GOOD = {"U1": "满意", "U2": "满意", "U3": "满意", "U4": "满意"}


@pytest.fixture
def crashing_parser(monkeypatch: pytest.MonkeyPatch) -> Callable:
    """The Standard Webhooks parser crashes on delivery "crash" (a bug in a parser, say);
    returns the real parser, to put back when the "bug" is fixed."""
    real = standard_webhooks.parse

    def parse(body: bytes, delivery_id: str, source: str):
        if delivery_id == "crash":
            raise KeyError("the parser has a bug")
        return real(body, delivery_id, source)

    monkeypatch.setattr(standard_webhooks, "parse", parse)
    return real


def _deliver(db: str, source: str, delivery_id: str, data: object) -> None:
    body = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()
    assert InboxWriter(make_engine(db)).store(source, delivery_id, body, {})


def _metric(text: str, line_start: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(line_start + " ")]
    return float(line.rsplit(" ", 1)[1])


def test_failed_deliveries_and_rejected_ballots_are_counted_where_staff_look(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crashing_parser: Callable
) -> None:
    tokens = setup_round(cli, tmp_path)
    for name in ("sw", "later"):
        cli("source", "add", name, "--kind", "standard-webhooks", "--round", ROUND,
            "--secret-env", "PINGYI_TEST_UNSET")  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", cli.db)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("PINGYI_CONFIG", raising=False)
    _deliver(cli.db, "sw", "good", ballot("r1", tokens[0], **GOOD))
    _deliver(cli.db, "sw", "stranger", ballot("r2", "no-such-seat", **GOOD))
    _deliver(cli.db, "sw", "scale", ballot("r3", tokens[1], **{**GOOD, "U1": 150}))
    _deliver(cli.db, "sw", "broken", b'{"id": "r4", "token": ')
    _deliver(cli.db, "sw", "crash", ballot("r5", tokens[2], **GOOD))
    _deliver(cli.db, "later", "waiting", ballot("r6", tokens[2], **GOOD))  # never ingested here
    ingest_inbox("sw")

    expected_rejected = {"malformed": 1, "off_scale": 1, "unknown_token": 1}
    expected_inbox = {"pending": 1, "failed": 1}
    app = create_app(Config(database_url=cli.db))
    client = app.test_client()
    viewer = {"Authorization": "Bearer " + cli("token", "create", "--role", "viewer").split()[0]}
    status = client.get("/api/v1/status", headers=viewer).get_json()
    assert not schemas.StatusSchema().validate(status)
    failures = status["failures"]
    assert failures["inbox"] == expected_inbox
    assert failures["rejected"] == expected_rejected
    assert failures["rounds"] == [
        {"round": ROUND, "inbox": expected_inbox, "rejected": expected_rejected}
    ]
    by_source = {s["name"]: s for s in status["sources"]}
    assert (by_source["sw"]["failed_deliveries"], by_source["sw"]["pending_deliveries"]) == (1, 0)
    assert (by_source["later"]["failed_deliveries"], by_source["later"]["pending_deliveries"]) == (
        0,
        1,
    )

    metrics = client.get("/metrics").get_data(as_text=True)
    assert _metric(metrics, 'pingyi_inbox_deliveries{status="failed"}') == 1
    assert _metric(metrics, 'pingyi_inbox_deliveries{status="pending"}') == 1
    assert _metric(metrics, 'pingyi_rejected_ballots{reason="unknown_token"}') == 1
    assert _metric(metrics, 'pingyi_rejected_ballots{reason="round_closed"}') == 0
    assert (
        _metric(metrics, f'pingyi_round_inbox_deliveries{{round="{ROUND}",status="failed"}}') == 1
    )
    assert (
        _metric(metrics, f'pingyi_round_rejected_ballots{{reason="malformed",round="{ROUND}"}}')
        == 1
    )
    assert _metric(metrics, 'pingyi_inbox_failures_total{outcome="failed"}') >= 1

    page = client.get("/", headers=viewer).get_data(as_text=True)
    assert '<span class="num failed error">1</span>' in page  # the total, flagged
    assert f'<tr data-round="{ROUND}">' in page and 'data-reason="unknown_token"' in page
    assert "pingyi inbox list --failed" in page

    # Staff find the failed delivery, and its error names the crash, not the ballot.
    (failed,) = cli.json("inbox", "list", "--failed")
    assert (failed["source"], failed["delivery_id"], failed["round"]) == ("sw", "crash", ROUND)
    assert failed["attempts"] == MAX_ATTEMPTS and failed["error"].startswith("KeyError at ")
    assert tokens[2] not in json.dumps(failed) and "body" not in failed
    assert "crash" in cli("inbox", "list") and "no deliveries failed" in cli(
        "inbox", "list", "--failed", "--source", "later"
    )
    # Retried while the bug is still there: it fails again, and says so.
    out = cli("inbox", "retry", str(failed["id"]))
    assert "1 deliveries back in the inbox" in out and f"delivery {failed['id']}: failed" in out
    # The bug fixed, the vote counts.
    monkeypatch.setattr(standard_webhooks, "parse", crashing_parser)
    cli("inbox", "retry", "--all-failed")
    assert cli.json("inbox", "list", "--failed") == []
    with session_scope(make_engine(cli.db)) as session:
        assert session.scalar(select(Ballot.status).where(Ballot.response_id == "r5")) == "accepted"
    after = client.get("/api/v1/status", headers=viewer).get_json()["failures"]
    assert after["inbox"] == {"pending": 1, "failed": 0}
    assert "is done, not failed" in cli("inbox", "retry", str(failed["id"] - 1), ok=False)
    assert "name delivery ids, or give --all-failed" in cli("inbox", "retry", ok=False)


def test_every_reason_the_judge_and_the_loader_write_has_its_kind(cli, tmp_path: Path) -> None:
    """The kinds are matched on the reasons' wording: ingest one ballot of each kind and check
    that none is counted as "other", so a reworded reason fails here, not silently in status."""
    tokens = setup_round(cli, tmp_path)
    early, late = "2026-09-20T10:00:00+08:00", "2026-11-02T10:00:00+08:00"
    records = [
        ballot("stranger", "no-such-seat", **GOOD),
        ballot("early", tokens[0], early, **GOOD),
        ballot("late", tokens[0], late, **GOOD),
        ballot("unit", tokens[0], **GOOD, X9="满意"),
        ballot("scale", tokens[0], **{**GOOD, "U1": "很好"}),
        ballot("number", tokens[0], **{**GOOD, "U2": 101}),
        ballot("nan", tokens[0], **{**GOOD, "U3": "NaN"}),
        ballot("criterion", tokens[0], **{**GOOD, "U4": {"作风": 90}}),
        {"id": "nul", "token": tokens[0], "submitted_at": early, "answers": {"U1": "满\u0000意"}},
        {"id": "fields", "token": tokens[0]},
        "[1, 2",
        "42",
        ballot("counts", tokens[2], **GOOD),  # a file with nothing that counts is refused
    ]
    cli("ingest", ROUND, str(write_jsonl(tmp_path / "bad.jsonl", records)))
    with session_scope(make_engine(cli.db)) as session:
        close_round(session, ROUND)
    late_file = write_jsonl(tmp_path / "closed.jsonl", [ballot("closed", tokens[1], **GOOD)])
    assert "is closed" in cli("ingest", ROUND, str(late_file), ok=False)  # none counts: refused
    with session_scope(make_engine(cli.db)) as session:
        reasons = list(session.scalars(select(Ballot.reason).where(Ballot.status == "rejected")))
    assert len(reasons) == len(records)  # all but "counts", and the one after the close
    kinds = {reason: reason_kind(reason) for reason in reasons}
    assert "other" not in kinds.values(), kinds
    assert {k for k, _ in REASON_KINDS} - set(kinds.values()) <= {"seat_inactive", "incomplete"}
