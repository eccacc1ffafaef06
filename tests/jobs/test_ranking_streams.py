"""The ranking done by the database holds one unit's histogram at a time (issue #13).

``jobs.ranking.stored_scores`` reads the grouped (unit, value) counts in unit order and reduces
each unit to a small ``UnitScore`` before the next unit's rows arrive. Two rounds of the same 300
units are stored, one with 40 ballots and one with 80, every ballot scoring every unit with
numbers to one decimal, so each unit has about as many distinct values as ballots and the
grouped rows nearly double with the ballots (about 11,600 and 21,800). Python's allocations while
scoring (tracemalloc's peak) must not follow them: a ranking that fetched every grouped row,
or kept every unit's histogram, before scoring would need about twice as much for the larger
round; streaming needs one unit's rows, one fetch and 300 small results for both.
"""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

from sqlalchemy import select

from jobs.ranking import stored_scores
from service.models.ballots import Ballot
from service.rules import Rules
from service.store.aggregates import recused_votes
from service.store.engine import make_engine, session_scope
from tests.jobs.evaluation import Evaluation

UNITS = {f"U{i:03d}": ("法院", "检察院", "公安局", "司法局")[i % 4] for i in range(300)}
MEMBERS = {f"P{i:03d}": "人大代表" for i in range(80)}
SMALL, LARGE = ("2026-10", 40), ("2026-11", 80)


def _answers(rng: random.Random) -> dict[str, float]:
    """A score to one decimal for every unit: about as many distinct values as ballots."""
    return {unit: rng.randint(600, 1000) / 10 for unit in UNITS}


def _store_rounds(db_url: str, tmp_path: Path) -> None:
    rng = random.Random(13)
    ev = Evaluation(db_url, tmp_path, UNITS, MEMBERS, seats=list(MEMBERS)[: SMALL[1]])
    ev.ingest([ev.ballot(m, _answers(rng)) for m in list(MEMBERS)[: SMALL[1]]])
    # Settles the ballots (the scoring below reads the accepted ones); the reliability report's
    # bootstrap has nothing to do with this and would take half a minute here.
    ev.cli("rank", SMALL[0], "--without-reliability")
    ev.new_round(LARGE[0], "2026-11-01", "2026-11-30", list(MEMBERS)[: LARGE[1]])
    at = "2026-11-20T10:00:00+08:00"
    ev.ingest([ev.ballot(m, _answers(rng), at=at) for m in list(MEMBERS)[: LARGE[1]]])
    ev.cli("rank", LARGE[0], "--without-reliability")


def _scoring_peak(db_url: str, round_id: str, traced: bool = True) -> tuple[int, int]:
    """(tracemalloc peak in bytes, units scored) of scoring the round from its grouped counts;
    the accepted ballots and the recusals are read before the measurement starts."""
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            accepted = set(
                session.scalars(
                    select(Ballot.id).where(
                        Ballot.round_id == round_id, Ballot.status == "accepted"
                    )
                )
            )
            recused = recused_votes(session, round_id)
            if not traced:
                return 0, len(stored_scores(session, round_id, Rules(), accepted, recused))
            tracemalloc.start()
            try:
                scores = stored_scores(session, round_id, Rules(), accepted, recused)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            return peak, len(scores)
    finally:
        engine.dispose()


def test_scoring_memory_does_not_grow_with_the_grouped_rows(
    migrated_db_url: str, tmp_path: Path
) -> None:
    _store_rounds(migrated_db_url, tmp_path)
    _scoring_peak(migrated_db_url, SMALL[0], traced=False)  # compiles and caches the statement
    small, scored = _scoring_peak(migrated_db_url, SMALL[0])
    assert scored == len(UNITS)
    large, scored = _scoring_peak(migrated_db_url, LARGE[0])
    assert scored == len(UNITS)
    # Measured here: streaming 0.67 MB and 0.69 MB; with the grouped rows fetched into a list
    # first (the ranking before issue #13 did that and more), 2.4 MB and 4.4 MB.
    assert large < 1.3 * small, f"scoring peak {small:,} B for 40 ballots, {large:,} B for 80"
