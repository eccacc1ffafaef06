"""Outgoing events for automation: written to the outbox in the transaction that caused them.

An event exists once the change it reports is committed, and never before; delivery (signed,
retried, every attempt logged) is the notify job's business.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models.service import OutboxAttempt, OutboxEvent, Subscription
from service.store.engine import utcnow

EVENTS = ("ballot.accepted", "round.closed", "ranking.computed", "circular.published")


def emit(session: Session, event: str, payloads: list[dict]) -> list[int]:
    """Queue ``event`` with each payload for every active subscriber; returns outbox ids."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    subscribers = [
        s
        for s in session.scalars(select(Subscription).where(Subscription.active.is_(True)))
        if event in s.events
    ]
    if not subscribers or not payloads:
        return []
    now = utcnow()
    rows = [
        OutboxEvent(
            subscription_id=s.id,
            event=event,
            message_id="msg_" + secrets.token_hex(16),
            payload={"type": event, "timestamp": now.isoformat(), "data": payload},
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for s in subscribers
        for payload in payloads
    ]
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows]


def pending_event(session: Session, event_id: int) -> tuple[OutboxEvent, Subscription] | None:
    """The event and its subscription while the event is still to be delivered, else None."""
    event = session.get(OutboxEvent, event_id)
    if event is None or event.status != "pending":
        return None
    return event, session.get(Subscription, event.subscription_id)


def record_attempt(
    session: Session,
    event: OutboxEvent,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    retry_in: int | None,
) -> None:
    """Log one delivery attempt and move the event on: delivered (no error), due again in
    ``retry_in`` seconds, or failed for good (an error and no retry left)."""
    now = utcnow()
    session.add(
        OutboxAttempt(
            outbox_id=event.id,
            at=now,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    event.attempts += 1
    if error is None:
        event.status, event.delivered_at, event.last_error = "delivered", now, None
    elif retry_in is None:
        event.status, event.last_error = "failed", error
    else:
        event.last_error = error
        event.next_attempt_at = now + timedelta(seconds=retry_in)
