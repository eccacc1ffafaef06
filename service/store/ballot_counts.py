"""Rejected ballots listed for staff: of a round, or of one file's records."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models.ballots import Ballot
from service.store.ballots import REJECTED, slices


def rejected_ballots(
    session: Session, round_id: str, ids: Iterable[int] | None = None, limit: int | None = None
) -> list[tuple[str, str, str]]:
    """(source, response id, reason) of the round's rejected ballots, or of those among ``ids``
    (one file's), in the order they came, at most ``limit``: for staff to follow up."""
    query = select(Ballot.source, Ballot.response_id, Ballot.reason).where(
        Ballot.round_id == round_id, Ballot.status == REJECTED
    )
    parts = [query] if ids is None else [query.where(Ballot.id.in_(p)) for p in slices(list(ids))]
    found: list[tuple[str, str, str]] = []
    for part in parts:
        rows = session.execute(part.order_by(Ballot.id).limit(limit))
        found += [(source, rid, reason or "") for source, rid, reason in rows]
    return found[:limit]
