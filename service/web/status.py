"""What staff see of a running service: queues, workers, sources, open rounds' progress.

Counts only — seats, ballots, valid ballots — never who voted.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models.ballots import Ballot
from service.models.inbox import InboxDelivery
from service.models.results import Circular
from service.models.rounds import Round, Seat
from service.models.sources import Source
from service.queue import JobQueue
from service.store.engine import as_utc


def round_progress(session: Session, round_id: str) -> dict:
    """seats (active), ballots (seats with an accepted ballot), valid ballots, rejected ones."""
    seats = session.scalar(
        select(func.count(Seat.id)).where(Seat.round_id == round_id, Seat.status == "active")
    )
    counts = dict(
        session.execute(
            select(Ballot.status, func.count())
            .where(Ballot.round_id == round_id)
            .group_by(Ballot.status)
        ).all()
    )
    return {
        "seats": seats or 0,
        "ballots": counts.get("accepted", 0) + counts.get("invalid", 0),
        "valid_ballots": counts.get("accepted", 0),
        "rejected": counts.get("rejected", 0),
        "superseded": counts.get("superseded", 0),
    }


def _iso(value) -> str | None:
    return None if value is None else as_utc(value).isoformat()


def sources_status(session: Session) -> list[dict]:
    """Each source's last contact (poll or webhook) and last error; no configuration secrets."""
    last_hook = dict(
        session.execute(
            select(InboxDelivery.source, func.max(InboxDelivery.received_at)).group_by(
                InboxDelivery.source
            )
        ).all()
    )
    pending = dict(
        session.execute(
            select(InboxDelivery.source, func.count())
            .where(InboxDelivery.status == "pending")
            .group_by(InboxDelivery.source)
        ).all()
    )
    return [
        {
            "name": s.name,
            "kind": s.kind,
            "round": s.round_id,
            "last_poll_at": _iso(s.last_poll_at),
            "last_webhook_at": _iso(last_hook.get(s.name)),
            "pending_deliveries": pending.get(s.name, 0),
            "last_error": s.last_error,
        }
        for s in session.scalars(select(Source).order_by(Source.name))
    ]


def _workers(queue: JobQueue) -> int | None:
    if queue.inline:
        return None
    try:
        from rq import Worker

        return Worker.count(connection=queue.redis)
    except Exception:
        return None


def service_status(session: Session, queue: JobQueue) -> dict:
    try:
        depths = queue.depths()
    except Exception:
        depths = None
    open_rounds = session.scalars(
        select(Round).where(Round.status == "open").order_by(Round.created_at.desc())
    ).all()
    latest = dict(
        session.execute(
            select(Circular.round_id, func.max(Circular.version)).group_by(Circular.round_id)
        ).all()
    )
    return {
        "queues": depths,
        "workers": _workers(queue),
        "redis": queue.ping(),
        "sources": sources_status(session),
        "rounds": [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "closes_at": _iso(r.closes_at),
                "progress": round_progress(session, r.id),
                "circular_version": latest.get(r.id),
            }
            for r in open_rounds
        ],
    }
