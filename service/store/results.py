"""Ranking snapshots and published circulars of a round."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models.results import RankingSnapshot


def latest_snapshot(session: Session, round_id: str) -> RankingSnapshot | None:
    """The round's most recent ranking snapshot, if it was ever ranked."""
    return session.scalars(
        select(RankingSnapshot)
        .where(RankingSnapshot.round_id == round_id)
        .order_by(RankingSnapshot.id.desc())
        .limit(1)
    ).first()
