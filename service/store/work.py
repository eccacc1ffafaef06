"""Each round's outstanding work, kept in the database so nothing depends on Redis remembering.

A ranking is requested in the transaction that changed the round (``request_ranking`` for new
ballots or a veto, ``close_round`` for a close); the ranking job records which request it
served; the sweeper (``owed``) compares the two.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from connectors.registry import polled_kinds
from service.models.inbox import InboxDelivery
from service.models.rounds import Round
from service.models.service import OutboxEvent, RoundWork
from service.models.sources import Source
from service.store.engine import as_utc, utcnow


def get_work(session: Session, round_id: str) -> RoundWork | None:
    """The round's work record, if anything was ever asked of the round."""
    return session.get(RoundWork, round_id)


def _work(session: Session, round_id: str) -> RoundWork:
    work = get_work(session, round_id)
    if work is None:
        work = RoundWork(round_id=round_id)
        session.add(work)
    return work


def request_ranking(session: Session, round_id: str) -> None:
    _work(session, round_id).ranking_requested_at = utcnow()


def ranking_request(session: Session, round_id: str) -> datetime | None:
    work = get_work(session, round_id)
    return None if work is None else work.ranking_requested_at


def mark_ranked(
    session: Session, round_id: str, served: datetime | None, snapshot_id: int | None
) -> bool:
    """Record the request a ranking served (``snapshot_id`` None: there was nothing to rank);
    True when another request came in meanwhile."""
    work = _work(session, round_id)
    work.ranking_done_for, work.ranking_id = served, snapshot_id
    return work.ranking_requested_at is not None and (
        served is None or work.ranking_requested_at > served
    )


def mark_rendered(session: Session, round_id: str, snapshot_id: int) -> None:
    _work(session, round_id).circular_ranking_id = snapshot_id


def closed_at(session: Session, rnd: Round) -> datetime | None:
    """When the round was closed, if it is (a round closed without a record: from now)."""
    if rnd.status != "closed":
        return None
    work = get_work(session, rnd.id)
    return as_utc(work.closed_at) if work is not None and work.closed_at else utcnow()


def close_round(session: Session, round_id: str) -> None:
    rnd = session.get(Round, round_id)
    rnd.status = "closed"
    work = _work(session, round_id)
    now = utcnow()
    work.closed_at = work.closed_at or now
    work.ranking_requested_at = now


def pending_sources(session: Session, round_id: str) -> list[str]:
    """The round's sources with deliveries stored but not yet ingested."""
    return sorted(
        set(
            session.scalars(
                select(InboxDelivery.source)
                .join(Source, Source.name == InboxDelivery.source)
                .where(Source.round_id == round_id, InboxDelivery.status == "pending")
            )
        )
    )


def polled_sources(session: Session, round_id: str) -> list[str]:
    """The round's sources that are polled (not pushed): what a close polls one last time."""
    kinds = polled_kinds()
    return sorted(
        s.name
        for s in session.scalars(select(Source).where(Source.round_id == round_id))
        if s.kind in kinds
    )


def owed(session: Session, grace: float = 5.0) -> dict[str, list]:
    """Work the database says is not done (older than ``grace`` seconds, so that jobs already
    on their way are not doubled): sources with pending deliveries, rounds owing a ranking,
    closed rounds owing a circular, events due for delivery."""
    before = utcnow() - timedelta(seconds=grace)
    sources = sorted(
        set(
            session.scalars(
                select(InboxDelivery.source).where(
                    InboxDelivery.status == "pending", InboxDelivery.received_at <= before
                )
            )
        )
    )
    rankings = list(
        session.scalars(
            select(RoundWork.round_id).where(
                RoundWork.ranking_requested_at <= before,
                or_(
                    RoundWork.ranking_done_for.is_(None),
                    RoundWork.ranking_done_for < RoundWork.ranking_requested_at,
                ),
            )
        )
    )
    renders = list(
        session.scalars(
            select(RoundWork.round_id)
            .join(Round, Round.id == RoundWork.round_id)
            .where(
                Round.status == "closed",
                RoundWork.ranking_id.is_not(None),
                or_(
                    RoundWork.circular_ranking_id.is_(None),
                    RoundWork.circular_ranking_id != RoundWork.ranking_id,
                ),
            )
        )
    )
    events = list(
        session.scalars(
            select(OutboxEvent.id).where(
                OutboxEvent.status == "pending", OutboxEvent.next_attempt_at <= utcnow()
            )
        )
    )
    return {"sources": sources, "rankings": rankings, "renders": renders, "events": events}
