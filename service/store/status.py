"""What staff see of rounds and sources: counts and last contacts, never who voted.

Read by the API's round and status views and by the staff page.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models.inbox import InboxDelivery
from service.models.sources import Source
from service.store.ballots import status_counts
from service.store.engine import as_utc
from service.store.rounds import count_active_seats


def round_progress(session: Session, round_id: str) -> dict:
    """seats (active), ballots (seats with an accepted ballot), valid ballots, rejected ones."""
    seats = count_active_seats(session, round_id)
    counts = status_counts(session, round_id)
    return {
        "seats": seats,
        "ballots": counts.get("accepted", 0) + counts.get("invalid", 0),
        "valid_ballots": counts.get("accepted", 0),
        "rejected": counts.get("rejected", 0),
        "superseded": counts.get("superseded", 0),
    }


def _iso(value: datetime | None) -> str | None:
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
