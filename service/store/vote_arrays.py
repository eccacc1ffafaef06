"""A round's counted votes read for publishing, where they are stored (docs/scale.md, "The
circular of a province round").

Publishing needs the votes twice besides the ranking: the circular's evidence (per-unit
histograms and label counts) and the reliability report (every ballot's votes side by side).
A province round is 2.25 million votes; read as Python objects they are gigabytes. So:

- :func:`evidence_counts` is one ``GROUP BY unit, group, label, points`` over the counted votes:
  a few thousand rows whatever the size of the round;
- :func:`vote_arrays` streams the counted votes in chunks (a server-side cursor on PostgreSQL)
  and turns each chunk at once into small integer numpy arrays (ballot row, unit, criterion,
  value, label), so what stays alive is those arrays, never an object per vote.

"Counted" is said here on its own terms, not borrowed from the ranking's queries
(``service.store.aggregates``): the votes with points of the round's **accepted** ballots (as
the last settling stored them) on its **active** seats, on the given criteria, **less** the
units the seat's holder is recused from (an anti-join on the holder's conflicts, where the
ranking subtracts them afterwards). The evidence is there so that a reader can catch an error
in the ranking; two independent readings of the store are what makes that possible.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Select, String, and_, cast, exists, func, select, text
from sqlalchemy.orm import Session

from service.models.ballots import Ballot, Vote
from service.models.reference import Conflict
from service.models.rounds import RoundUnit, Seat, SeatHolder
from service.store.aggregates import analyse_stale, round_votes

ACCEPTED, ACTIVE = "accepted", "active"
# Rows per chunk read from the cursor (one row: a ballot's answers of one kind): a few MB.
CHUNK = 2_000


# The small tables the counted votes are joined with. Nothing analyses them after a panel is set
# (ingest analyses ballots and votes, ``service.store.aggregates.refresh_statistics``); where
# autovacuum is off or has not come round yet, PostgreSQL takes them for one row each and joins
# 2 million votes through nested index probes: 3 minutes instead of 3 seconds, measured.
_SMALL_TABLES = ("seats", "seat_holders", "conflicts", "round_units")


def _statistics_for_the_joins(session: Session) -> None:
    """Statistics for the small tables before the joins (``analyse_stale``): milliseconds for
    tables of a few thousand rows, and the planner then hashes them instead of probing per
    vote."""
    analyse_stale(session, _SMALL_TABLES)


# work_mem for grouping the votes into lists: the province round's 15,000 lists of unit numbers
# take about 26 MB in PostgreSQL's hash table; with the default 4 MB it spills 139 MB to disk in
# 129 batches (EXPLAIN ANALYZE: 5.9 s against 4.5 s for the whole query).
_GROUPING_MEMORY_KB = 64 * 1024


@contextmanager
def _memory_for_the_grouping(session: Session) -> Iterator[None]:
    """On PostgreSQL, raise ``work_mem`` to ``_GROUPING_MEMORY_KB`` (never lower it) for this
    transaction while the block runs, then set back what it was: the read's one large hash
    table stays in memory, and later queries get the session's setting again."""
    if session.connection().dialect.name != "postgresql":
        yield
        return
    before = session.scalar(text("SELECT current_setting('work_mem')"))
    kb = session.scalar(text("SELECT setting::bigint FROM pg_settings WHERE name = 'work_mem'"))
    if kb >= _GROUPING_MEMORY_KB:
        yield
        return
    session.execute(
        text("SELECT set_config('work_mem', :v, true)"), {"v": f"{_GROUPING_MEMORY_KB}kB"}
    )
    yield
    # Not on an error: the transaction may be aborted, and its end undoes the setting anyway.
    session.execute(text("SELECT set_config('work_mem', :v, true)"), {"v": before})


def _counted(session: Session, query: Select, round_id: str, criteria: Collection[str]) -> Select:
    """Restrict a query over ``votes`` to the counted votes of the round (see the module)."""
    recused = exists().where(
        SeatHolder.seat_id == Ballot.seat_id,
        Conflict.member_id == SeatHolder.member_id,
        Conflict.unit_code == Vote.unit_code,
    )
    return (
        query.join(Ballot, Ballot.id == Vote.ballot_id)
        .join(Seat, and_(Seat.id == Ballot.seat_id, Seat.round_id == round_id))
        .where(Ballot.round_id == round_id, Ballot.status == ACCEPTED, Seat.status == ACTIVE)
        .where(round_votes(session, round_id))
        .where(Vote.points.is_not(None), Vote.criterion.in_(sorted(criteria)))
        .where(~recused)
    )


def counted_ballots(session: Session, round_id: str) -> list[tuple[int, int, str, str | None]]:
    """(ballot id, seat id, group, holder's pool id) of each accepted ballot on an active seat,
    in seat order: the order the bootstrap reads ballots in, so its numbers do not depend on how
    the database returns rows. The pool id is for admins' quality flags only."""
    return [
        (ballot_id, seat_id, group, member)
        for ballot_id, seat_id, group, member in session.execute(
            select(Ballot.id, Seat.id, Seat.group_name, SeatHolder.member_id)
            .join(Seat, and_(Seat.id == Ballot.seat_id, Seat.round_id == round_id))
            .join(SeatHolder, SeatHolder.seat_id == Seat.id, isouter=True)
            .where(Ballot.round_id == round_id, Ballot.status == ACCEPTED, Seat.status == ACTIVE)
            .order_by(Seat.id, Ballot.id)
        )
    ]


def evidence_counts(
    session: Session, round_id: str, criteria: Collection[str], by_group: bool
) -> list[tuple[str, str | None, str | None, str, int]]:
    """(unit, group or None, label, points text, count) of the counted votes on ``criteria``:
    with one criterion, each unit's histogram (per group when ``by_group``) and its label
    counts in one grouped query."""
    _statistics_for_the_joins(session)
    group = [Seat.group_name] if by_group else []
    query = _counted(
        session,
        select(Vote.unit_code, *group, Vote.label, Vote.points, func.count()),
        round_id,
        criteria,
    ).group_by(Vote.unit_code, *group, Vote.label, Vote.points)
    rows = session.execute(query)
    if by_group:
        return [tuple(row) for row in rows]  # type: ignore[misc]
    return [(unit, None, label, points, n) for unit, label, points, n in rows]


class _Codes(dict):
    """Text → small integer, numbering each new text as it is first seen (from 0; a key
    stored with a negative number beforehand, such as None → -1, is not counted)."""

    def __missing__(self, key: str | None) -> int:
        self[key] = n = sum(1 for v in self.values() if v >= 0)
        return n


@dataclass(frozen=True)
class VoteArrays:
    """The counted votes as parallel arrays, one entry per vote (one criterion answer).

    ``row[k]``: the position of vote k's ballot in ``ballots`` (seat order); ``unit[k]``: its
    unit's index in the ``units`` asked for (-1: not one of them); ``criterion[k]``: index in
    ``criteria``; ``value[k]``: index of its points text in ``values``; ``label[k]``: index of
    its label in ``labels`` (-1: a number, no label)."""

    ballots: list[tuple[int, int, str, str | None]]
    row: np.ndarray
    unit: np.ndarray
    criterion: np.ndarray
    value: np.ndarray
    label: np.ndarray
    values: list[str]
    labels: list[str]
    criteria: list[str]


def _unit_numbers(round_id: str):
    """The round's units numbered 1, 2, … by the database's own order of their codes: a vote
    travels as that small integer instead of its code."""
    return (
        select(
            RoundUnit.code.label("code"),
            func.row_number().over(order_by=RoundUnit.code).label("number"),
        )
        .where(RoundUnit.round_id == round_id)
        .cte("unit_numbers")
    )


def _vote_lists(session: Session, round_id: str, criteria: Collection[str]) -> Select:
    """One row per (counted ballot, criterion, label, points): how many units it answered so
    and their numbers as one text ("3 17 242 …"). A province round's 2.25 million votes are
    then about 15,000 rows for the driver to hand over, and numpy reads each text in C,
    instead of 2.25 million rows of five Python objects each. A vote on a unit the round does
    not list drops out of the join, as it counts nowhere."""
    numbers = _unit_numbers(round_id)
    query = select(
        Vote.ballot_id,
        Vote.criterion,
        Vote.label,
        Vote.points,
        func.count(),
        func.aggregate_strings(cast(numbers.c.number, String), " "),
    ).join(numbers, numbers.c.code == Vote.unit_code)
    return _counted(session, query, round_id, criteria).group_by(
        Vote.ballot_id, Vote.criterion, Vote.label, Vote.points
    )


def vote_arrays(
    session: Session,
    round_id: str,
    units: list[str],
    criteria: list[str],
    chunk: int = CHUNK,
) -> VoteArrays:
    """Every counted vote of the round on ``criteria`` as integer arrays (see ``VoteArrays``),
    read ``chunk`` rows at a time through a server-side cursor where the driver has one
    (PostgreSQL): memory is the arrays (about 12 bytes a vote) plus one chunk's texts."""
    _statistics_for_the_joins(session)
    ballots = counted_ballots(session, round_id)
    position = {ballot_id: n for n, (ballot_id, *_) in enumerate(ballots)}
    numbers = _unit_numbers(round_id)
    unit_at = {code: j for j, code in enumerate(units)}
    number_to_unit = np.full(len(units) + 1, -1, dtype=np.int32)  # by the database's number
    for code, number in session.execute(select(numbers.c.code, numbers.c.number)):
        if number >= len(number_to_unit):
            number_to_unit = np.pad(number_to_unit, (0, number + 1 - len(number_to_unit)),
                                    constant_values=-1)  # fmt: skip
        number_to_unit[number] = unit_at.get(code, -1)
    criterion_at = {c: n for n, c in enumerate(criteria)}
    values: dict[str, int] = _Codes()
    labels: dict[str | None, int] = _Codes()
    labels[None] = -1  # a number: no label
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("row", "unit", "kind")}
    kinds: list[tuple[int, int, int]] = []  # (criterion, value, label) of each part
    query = _vote_lists(session, round_id, criteria).execution_options(yield_per=chunk)
    with _memory_for_the_grouping(session):
        rows = session.execute(query)
        for ballot_id, criterion, label, points, count, listed in rows:
            n = position.get(ballot_id)
            found = np.array(listed.split(" "), dtype=np.int64) if count else np.zeros(0, np.int64)
            if n is None or len(found) != count:  # settled again while being read
                raise RuntimeError(
                    f"round {round_id}: ballot {ballot_id}'s votes did not read back"
                )
            parts["row"].append(np.full(count, n, dtype=np.int32))
            parts["unit"].append(number_to_unit[found])
            parts["kind"].append(np.full(count, len(kinds), dtype=np.int32))
            kinds.append((criterion_at[criterion], values[points], labels[label]))
    del labels[None]
    table = np.array(kinds, dtype=np.int32).reshape(-1, 3)
    kind = _joined(parts.pop("kind"), np.int32)
    return VoteArrays(
        ballots=ballots,
        row=_joined(parts.pop("row"), np.int32),
        unit=_joined(parts.pop("unit"), np.int32),
        criterion=table[kind, 0].astype(np.int8),
        value=table[kind, 1].astype(np.int16),
        label=table[kind, 2].astype(np.int16),
        values=list(values),
        labels=list(labels),
        criteria=list(criteria),
    )


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
