"""The round lock (``service.store.rounds.lock_round``) excludes other settlings of the round and
nothing else: a ballot inserted but not yet committed by another ingest (whose foreign key holds
a key-share lock on the round's row) does not make it wait.

With FOR UPDATE it did: an ingest that had appended to the audit log (holding its lock) waited
here on the ballots other ingests had inserted, while those waited on the audit lock; with three
workers on one round's sources the inbox stalled for minutes (tests/e2e/test_scale_out.py
found it). PostgreSQL only: SQLite lets one writer at a time.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from service.store.engine import make_engine, session_scope, utcnow
from service.store.rounds import lock_round
from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import GROUP


@pytest.mark.parametrize("migrated_db_url", ["postgres"], indirect=True)
def test_an_uncommitted_ballot_does_not_hold_the_round_lock(
    migrated_db_url: str, tmp_path: Path
) -> None:
    ev = Evaluation(migrated_db_url, tmp_path, {"A": "法院"}, {"P1": GROUP})
    engine = make_engine(migrated_db_url)
    try:
        with session_scope(engine) as inserting:
            inserting.execute(
                text(
                    "INSERT INTO ballots (round_id, source, response_id, version, token, "
                    "received_at, raw, raw_sha256, status) VALUES (:r, 'file:x', 'r1', 1, "
                    "'t', :at, '{}', :h, 'rejected')"
                ),
                {"r": ev.round, "at": utcnow(), "h": "0" * 64},
            )
            with session_scope(engine) as settling:
                settling.execute(text("SET LOCAL lock_timeout = '3s'"))
                lock_round(settling, ev.round)  # must not wait for the insert
                with session_scope(engine) as other, pytest.raises(OperationalError):
                    other.execute(text("SET LOCAL lock_timeout = '300ms'"))
                    lock_round(other, ev.round)  # a second settling still waits
            inserting.rollback()
    finally:
        engine.dispose()


@pytest.mark.parametrize("migrated_db_url", ["postgres"], indirect=True)
def test_an_ingest_takes_the_audit_lock_only_after_the_round_lock(
    migrated_db_url: str, tmp_path: Path
) -> None:
    """A ranking locks the round and then appends to the audit log. An ingest that appended
    while storing its ballots (before settling, which locks the round) held the audit lock
    while waiting for the ranking's round lock, and the ranking waited for the audit lock:
    PostgreSQL broke the deadlock by failing one of them. Now an ingest's stored ballots hold
    no audit lock: a ranking's append goes through while the ingest is between storing and
    settling."""
    import json

    from connectors.canonical import load_ballot
    from jobs.ingest import _store, round_context
    from service.rules import Rules
    from service.store.audit import append_audit

    ev = Evaluation(migrated_db_url, tmp_path, {"A": "法院"}, {"P1": GROUP})
    data = ev.ballot("P1", {"A": "满意"})
    record = load_ballot(data, "test, line 1", json.dumps(data, ensure_ascii=False))
    engine = make_engine(migrated_db_url)
    try:
        with session_scope(engine) as ingesting:
            counts = _store(ingesting, round_context(ingesting, ev.round, Rules()), "f", [record])
            assert counts.new == 1  # stored, not settled, not committed
            with session_scope(engine) as ranking:
                ranking.execute(text("SET LOCAL lock_timeout = '3s'"))
                lock_round(ranking, ev.round)
                append_audit(ranking, "ranking.test", {}, ev.round)  # waited, then failed
            ingesting.rollback()
    finally:
        engine.dispose()
