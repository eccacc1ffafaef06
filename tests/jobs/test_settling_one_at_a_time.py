"""Settling a round is one transaction at a time (``service.store.rounds.lock_round``). Here an
ingest has stored and settled a seat's later ballot but not yet committed when a ranking starts:
the ranking waits for the round, then reads every ballot. Without the lock it would read the
round without that ballot, wait only at the row it rewrites, then write back the earlier ballot
as accepted after the ingest committed: two accepted ballots for one seat. PostgreSQL (SQLite
lets one writer at a time)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.canonical import load_ballot
from jobs.ingest import ingest_records
from jobs.ranking import rank_round
from service.models.ballots import Ballot
from service.rules import Rules
from service.store.engine import make_engine, session_scope
from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import GROUP


@pytest.mark.parametrize("migrated_db_url", ["postgres"], indirect=True)
def test_a_ranking_during_an_ingest_settles_after_it(migrated_db_url: str, tmp_path: Path) -> None:
    ev = Evaluation(migrated_db_url, tmp_path, {"A": "法院"}, {"P1": GROUP}, rules={"min_votes": 1})
    ev.ingest([ev.ballot("P1", {"A": "满意"}, rid="early", at="2026-10-20T10:00:00+08:00")])
    later = ev.ballot("P1", {"A": "不满意"}, rid="later", at="2026-10-25T10:00:00+08:00")
    engine, rules, round_id = make_engine(migrated_db_url), Rules(min_votes=1), ev.round
    failures: list[BaseException] = []

    def rank_meanwhile() -> None:
        try:
            with session_scope(engine) as session:
                rank_round(session, round_id, rules, force=True)
        except BaseException as exc:  # reported below, in the test's own thread
            failures.append(exc)

    record = load_ballot(later, "later", json.dumps(later, ensure_ascii=False))
    with session_scope(engine) as session:
        ingest_records(session, round_id, f"file:{round_id}", [record], rules)
        ranking = threading.Thread(target=rank_meanwhile)
        ranking.start()
        time.sleep(1.0)  # the ranking starts while this ingest is not yet committed
    ranking.join(timeout=30)
    assert not failures and not ranking.is_alive()
    with session_scope(engine) as session:
        got = dict(session.execute(select(Ballot.response_id, Ballot.status)).all())
    assert got == {"early": "superseded", "later": "accepted"}
