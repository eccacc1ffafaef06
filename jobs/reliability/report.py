"""A round's reliability report from the store, and stored with its ranking snapshot.

The report is a function of the snapshot's ballots, the rules and the seed, so it is computed
once per snapshot and kept (``reliability_reports``); asking again returns the stored one. It is
a separate step from the official ranking: the ranking stays the fast, exact thing every
close waits for, and this runs after it (the render job, ``pingyi rank --json``, ``pingyi
quality``).

The seed is SHA-256 of ``pingyi-bootstrap-v1|<round>|<what>``, where <what> is the round's draw
seed (the public lottery numbers), or its id when it had no draw: anyone with the ballots gets
the same numbers, and nobody could pick a favourable seed after the fact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.reliability.analysis import B, analyse_matrix
from jobs.reliability.votes import stored_vote_matrix
from jobs.scoring import UnitInfo, criteria_weights
from service.models.results import RankingSnapshot, ReliabilityReport
from service.models.rounds import Round
from service.rules import Rules
from service.store.ballots import REJECTED, status_counts
from service.store.draws import current_draw
from service.store.reliability import report_for, save_report
from service.store.results import latest_snapshot
from service.store.round_units import round_units
from service.store.rounds import get_round
from service.store.vote_arrays import vote_arrays


def seed_of(session: Session, round_id: str) -> tuple[int, str]:
    """The bootstrap's seed and what it was derived from (printed in the circular)."""
    draw = current_draw(session, round_id)
    what = f"draw seed {draw.seed}" if draw is not None and draw.seed else f"round id {round_id}"
    digest = hashlib.sha256(f"pingyi-bootstrap-v1|{round_id}|{what}".encode()).digest()
    return int.from_bytes(digest[:16], "big"), what


def previous_bottoms(session: Session, rnd: Round, months: int = 2) -> list[list[str]]:
    """The bottom lists of the ``months`` monthly rounds opened just before this one (ranked
    ones), oldest first: the persistence test looks at the last three months."""
    earlier = session.scalars(
        select(Round)
        .where(Round.kind == "monthly", Round.id != rnd.id, Round.opens_at < rnd.opens_at)
        .order_by(Round.opens_at.desc(), Round.id.desc())
    )
    found = []
    for other in earlier:
        snapshot = latest_snapshot(session, other.id)
        if snapshot is not None:
            found.append(list(snapshot.result.get("bottom") or ()))
        if len(found) == months:
            break
    return found[::-1]


def reliability_of(
    session: Session, snapshot: RankingSnapshot, rules: Rules, b: int = B
) -> ReliabilityReport | None:
    """The snapshot's report, computed and stored the first time; None for a summary round
    (its numbers are published scores, not ballots) or a round without accepted ballots."""
    return begin_reliability(session, snapshot, rules, b)()


def begin_reliability(
    session: Session, snapshot: RankingSnapshot, rules: Rules, b: int = B
) -> Callable[[], ReliabilityReport | None]:
    """``reliability_of`` in two halves, so that the caller can use the session meanwhile.

    This half reads what the report needs and starts the analysis (numpy, no database: seconds
    at province scale) on a thread of its own; the returned function waits for it and stores
    the report. The circular reads its evidence, comments and history in between
    (``jobs.circulars.publish.build_circular``): the database and the analysis then run at
    the same time instead of one after the other. The session is only ever used by the
    caller's thread."""
    rnd = get_round(session, snapshot.round_id)
    if rnd.kind != "monthly":
        return lambda: None
    stored = report_for(session, snapshot.id)
    if stored is not None and stored.report["bootstrap"]["b"] == b:
        return lambda: stored
    units = [UnitInfo(code, name, system) for code, name, system in round_units(session, rnd.id)]
    codes = [u.code for u in units]
    arrays = vote_arrays(session, rnd.id, codes, list(criteria_weights(rules)))
    if not arrays.ballots and not sum(
        n for status, n in status_counts(session, rnd.id).items() if status != REJECTED
    ):
        return lambda: None  # nothing came in that counts; a round whose ballots all fell
        # short of coverage still gets its (empty) report, saying 0 ballots were checked
    # Rows in seat order (by seat id), fixed by the store's query: the resamples must not
    # depend on how the database happened to return the rows.
    holder = {seat: member for _, seat, _, member in arrays.ballots}
    matrix = stored_vote_matrix(arrays, codes, rules)
    del arrays
    seed, what = seed_of(session, rnd.id)
    earlier = previous_bottoms(session, rnd)
    pool = ThreadPoolExecutor(1, thread_name_prefix="reliability")
    analysis = pool.submit(
        analyse_matrix, matrix, units, snapshot.result, rules, seed, what, earlier, b
    )
    pool.shutdown(wait=False)  # the thread ends with the analysis
    del matrix

    def finish() -> ReliabilityReport:
        report, flags = analysis.result()
        for flag in flags:  # the matrix names seats by id; admins also see the holder's pool id
            flag["evaluator"] = holder.get(flag["seat"])
        return save_report(session, snapshot, report, flags)

    return finish
