"""A round's votes as grouped counts, computed where they are stored (docs/scale.md).

A ranking needs, per unit, how many votes of each value it got (per evaluator group when group
weights are set) and how many of its answers carry each label; settling needs, per ballot, on how
many of its asked units it gave points. The first is one GROUP BY over the round's votes, the
second is stored with each ballot (``ballots.voted_units``): a province round of 2.25 million
votes is a few tens of thousands of grouped rows instead of 2.25 million objects, and they are
streamed in unit order, so Python holds one unit's rows at a time.

Recusals (the seat holder's conflicts) are few, so they are taken off afterwards: the votes on
recused units are read by their own small join (conflicts → seat → ballot → its vote on that
unit, by primary key) and subtracted, which costs far less than testing every vote against them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import ColumnElement, false, func, select, text
from sqlalchemy.orm import Session

from service.models.ballots import Ballot, Vote
from service.models.reference import Conflict
from service.models.rounds import Seat, SeatHolder

ACCEPTED, REJECTED = "accepted", "rejected"


def analyse_stale(session: Session, tables: tuple[str, ...]) -> None:
    """On PostgreSQL, ANALYZE each of ``tables`` that was never analysed or has grown or shrunk
    by more than a tenth since, before a query that joins the votes with them.

    Without statistics PostgreSQL takes a table for one row: it then probed 2 million votes
    through nested loops (3 minutes instead of 3 seconds, measured), and since the votes have no
    B-tree (migration 0012) a nested loop over them never ends. ``pingyi ingest`` analyses after
    a large file, but deliveries come in small batches and autovacuum comes round when it does.
    Analysing a table is milliseconds for the small ones and well under a second for a province's
    votes (a sample of 30,000 rows), and only when it is stale."""
    if session.connection().dialect.name != "postgresql":
        return
    names = ", ".join(f"to_regclass('{t}')" for t in tables)  # the callers' constants
    # Stale: never analysed, or the rows counted now differ by a tenth from those the last
    # ANALYZE found (pg_class.reltuples). Not n_mod_since_analyze: an ingest analyses inside its
    # own transaction, whose inserts are counted as modifications only when it commits, so the
    # province's votes looked stale right after being analysed and the next ranking spent 1.1 s
    # analysing them again.
    stale = session.scalars(
        text(
            "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
            f"WHERE s.relid IN ({names}) AND ("
            "coalesce(s.last_analyze, s.last_autoanalyze) IS NULL OR c.reltuples < 0 "
            "OR abs(s.n_live_tup - c.reltuples) > 50 + c.reltuples / 10)"
        )
    )
    for table in sorted(stale):
        session.execute(text(f'ANALYZE "{table}"'))  # one of ``tables``


def round_votes(session: Session, round_id: str) -> ColumnElement[bool]:
    """Votes whose ballot id lies within the round's first and last: add it to every query that
    joins a round's ballots to their votes.

    The join alone finds the votes, and this changes no result: it lets PostgreSQL's BRIN index
    on ``votes.ballot_id`` (migration 0012) skip the other rounds' votes, which are elsewhere in
    the table as ballot ids are drawn in order. Without it every ranking reads every vote ever
    stored; SQLite's B-tree uses it the same way.

    The bounds are read first and written into the query as numbers: given as subqueries, the
    planner cannot know how many votes they span, guessed a handful, and joined the province's
    2.25 million votes to its 5,000 ballots by a nested loop (a ranking went from 5 s to 17 s).
    For the same reason the votes and ballots are analysed first when their statistics are
    stale (``analyse_stale``)."""
    analyse_stale(session, ("ballots", "votes"))
    first, last = session.execute(
        select(func.min(Ballot.id), func.max(Ballot.id)).where(Ballot.round_id == round_id)
    ).one()
    if first is None:
        return false()
    return Vote.ballot_id.between(first, last)


def recused_votes(session: Session, round_id: str) -> list[tuple]:
    """(ballot id, ballot status, unit, criterion, group, label, points) of every vote a
    non-rejected ballot gave on a unit its seat holder is recused from.

    The (ballot, unit) pairs come first from the small tables (conflicts → holder → seat →
    ballot); only when there are any are their votes read, by the round's range of ballot ids
    and the pairs' ballots and units. Joined in one query, the planner probed the votes once per
    recusal, and the votes have no B-tree to probe (migration 0012): 67 ms of a county ranking
    and 0.9 s of a province ranking with no recusal at all."""
    pairs = {
        (ballot_id, unit): (status, group)
        for ballot_id, status, unit, group in session.execute(
            select(Ballot.id, Ballot.status, Conflict.unit_code, Seat.group_name)
            .select_from(Conflict)
            .join(SeatHolder, SeatHolder.member_id == Conflict.member_id)
            .join(Seat, Seat.id == SeatHolder.seat_id)
            .join(Ballot, Ballot.seat_id == Seat.id)
            .where(Seat.round_id == round_id, Ballot.round_id == round_id)
            .where(Ballot.status != REJECTED)
        )
    }
    if not pairs:
        return []
    span = round_votes(session, round_id)
    units = sorted({unit for _, unit in pairs})
    ballots = sorted({ballot_id for ballot_id, _ in pairs})
    found = []
    for start in range(0, len(ballots), 500):  # bounded IN lists
        for ballot_id, unit, criterion, label, points in session.execute(
            select(Vote.ballot_id, Vote.unit_code, Vote.criterion, Vote.label, Vote.points).where(
                span,
                Vote.ballot_id.in_(ballots[start : start + 500]),
                Vote.unit_code.in_(units),
            )
        ):
            if (ballot_id, unit) in pairs:
                status, group = pairs[ballot_id, unit]
                found.append((ballot_id, status, unit, criterion, group, label, points))
    return found


def coverage(session: Session, round_id: str, recused: Iterable[tuple]) -> dict[int, int]:
    """Per ballot that is not rejected: the units it gave points to, recused ones left out."""
    stored = dict(
        session.execute(
            select(Ballot.id, Ballot.voted_units).where(
                Ballot.round_id == round_id, Ballot.status != REJECTED
            )
        ).all()
    )
    missing = [b for b, n in stored.items() if n is None]
    if missing:  # stored before the count was kept: count them from their votes
        for start in range(0, len(missing), 5000):
            stored.update(
                session.execute(
                    select(Vote.ballot_id, func.count(func.distinct(Vote.unit_code)))
                    .where(Vote.ballot_id.in_(missing[start : start + 5000]))
                    .where(Vote.points.is_not(None))
                    .group_by(Vote.ballot_id)
                ).all()
            )
        stored.update({b: 0 for b in missing if stored[b] is None})
    off = {(r[0], r[2]) for r in recused if r[6] is not None}
    for ballot_id, _ in off:
        stored[ballot_id] -= 1
    return stored


# Grouped rows fetched per round trip while a ranking streams them: enough that a province
# round (about 40,000 grouped rows) is a few dozen fetches, few enough to stay small in memory.
STREAM_CHUNK = 1000


def vote_counts(
    session: Session, round_id: str, criterion: str, by_group: bool
) -> Iterator[tuple[str, str | None, str | None, str, int]]:
    """(unit, group or None, label, points text, count) over the accepted ballots' votes with
    points on ``criterion``, recusals NOT yet taken off (see ``recused_votes``).

    Ordered by unit and streamed (a server-side cursor on PostgreSQL, SQLite's own stepping),
    ``STREAM_CHUNK`` rows at a time: the caller reduces one unit's rows before the next are
    read, so a ranking never holds every unit's histogram at once. Read it to the end (or
    close it) before the session runs its next statement."""
    columns = [Vote.unit_code, Seat.group_name if by_group else None, Vote.label, Vote.points]
    query = (
        select(*(c for c in columns if c is not None), func.count())
        .join(Ballot, Ballot.id == Vote.ballot_id)
        .where(Ballot.round_id == round_id, Ballot.status == ACCEPTED)
        .where(round_votes(session, round_id))
        .where(Vote.criterion == criterion, Vote.points.is_not(None))
    )
    if by_group:
        query = query.join(Seat, Seat.id == Ballot.seat_id)
    query = query.group_by(*(c for c in columns if c is not None)).order_by(Vote.unit_code)
    rows = session.execute(query, execution_options={"yield_per": STREAM_CHUNK})
    try:
        if by_group:
            for unit, group, label, points, n in rows:
                yield unit, group, label, points, n
        else:
            for unit, label, points, n in rows:
                yield unit, None, label, points, n
    finally:
        rows.close()


def refresh_statistics(session: Session) -> None:
    """After a large ingest, tell PostgreSQL's planner how big the vote table now is: with the
    statistics of an empty table it sorts 2 million votes on disk to group them (4.5 s) where a
    parallel hash aggregate takes 1 s. Autovacuum would do it too, but later than the ranking
    that follows an ingest. SQLite's planner needs no such thing.

    The sample is 3,000 rows (statistics target 10) instead of the server's default 30,000: the
    plan needs the table's size, its few labels and points and roughly how many units and
    ballots it holds, which that sample gives (2,011 units of 2,000 in the province round; the
    ranking as fast), in 17 ms of a province ingest instead of 0.13-0.22 s. A later ANALYZE
    (autovacuum's, or an operator's) refines them with the server's own target."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SET LOCAL default_statistics_target = 10"))
        session.execute(text("ANALYZE ballots"))
        session.execute(text("ANALYZE votes"))
        session.execute(text("SET LOCAL default_statistics_target = DEFAULT"))
