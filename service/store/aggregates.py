"""A round's votes as grouped counts, computed where they are stored (docs/scale.md).

A ranking needs, per unit, how many votes of each value it got (per evaluator group when group
weights are set) and how many of its answers carry each label; settling needs, per ballot, on how
many of its asked units it gave points. Both are GROUP BY queries, so a province round of 2.25
million votes is a few thousand rows to Python instead of 2.25 million objects. Recusals (the
seat holder's conflicts) are left out in SQL with an anti-join, as ``jobs.scoring`` leaves them out
in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from service.models.ballots import Ballot, Vote
from service.models.reference import Conflict
from service.models.rounds import Seat, SeatHolder

ACCEPTED, REJECTED = "accepted", "rejected"


def _recused():
    """True for a vote on a unit its ballot's seat holder is recused from."""
    return (
        exists()
        .where(Seat.token == Ballot.token)
        .where(Seat.round_id == Ballot.round_id)
        .where(SeatHolder.seat_id == Seat.id)
        .where(Conflict.member_id == SeatHolder.member_id)
        .where(Conflict.unit_code == Vote.unit_code)
    )


def coverage(session: Session, round_id: str) -> dict[int, int]:
    """Per ballot that is not rejected: the units it gave points to, recused ones left out."""
    rows = session.execute(
        select(Vote.ballot_id, func.count(func.distinct(Vote.unit_code)))
        .join(Ballot, Ballot.id == Vote.ballot_id)
        .where(Ballot.round_id == round_id, Ballot.status != REJECTED)
        .where(Vote.points.is_not(None), ~_recused())
        .group_by(Vote.ballot_id)
    )
    return dict(rows.all())


def vote_counts(
    session: Session, round_id: str, criterion: str, by_group: bool
) -> list[tuple[str, str | None, str, int]]:
    """(unit, group or None, points text, count) over the accepted ballots' votes on
    ``criterion``, recused units left out."""
    group = Seat.group_name if by_group else func.cast(None, Seat.group_name.type)
    query = (
        select(Vote.unit_code, group, Vote.points, func.count())
        .join(Ballot, Ballot.id == Vote.ballot_id)
        .where(Ballot.round_id == round_id, Ballot.status == ACCEPTED)
        .where(Vote.criterion == criterion, Vote.points.is_not(None), ~_recused())
    )
    if by_group:
        query = query.join(Seat, Seat.token == Ballot.token).group_by(
            Vote.unit_code, Seat.group_name, Vote.points
        )
    else:
        query = query.group_by(Vote.unit_code, Vote.points)
    return [tuple(r) for r in session.execute(query)]


def label_counts(
    session: Session, round_id: str, criteria: Sequence[str]
) -> list[tuple[str, str | None, int]]:
    """(unit, label or None for a number, count) of the accepted ballots' answers with points on
    the counting ``criteria``, recused units left out: the tie-breaks' shares."""
    return [
        tuple(r)
        for r in session.execute(
            select(Vote.unit_code, Vote.label, func.count())
            .join(Ballot, Ballot.id == Vote.ballot_id)
            .where(Ballot.round_id == round_id, Ballot.status == ACCEPTED)
            .where(Vote.criterion.in_(list(criteria)), Vote.points.is_not(None), ~_recused())
            .group_by(Vote.unit_code, Vote.label)
        )
    ]
