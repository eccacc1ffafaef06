"""Outgoing events for automation: written to the outbox in the transaction that caused them.

An event exists once the change it reports is committed, and never before; delivery (signed,
retried, every attempt logged) is the notify job's business, and the schedule of its attempts is
kept here, in ``next_attempt_at``: an attempt is made only once it is due, and only by the one
job that claims it (``claim_attempt``), however many jobs were enqueued for it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
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


@dataclass(frozen=True)
class Claim:
    """One delivery attempt an event is reserved for: what the sender needs, read at the claim."""

    event_id: int
    attempt_id: int
    number: int  # 1 for the first attempt
    event: str
    message_id: str
    payload: dict
    subscription: Subscription


def claim_attempt(session: Session, event_id: int, now: datetime, lease: timedelta) -> Claim | None:
    """Reserve the event's next attempt if it is pending and due (``next_attempt_at <= now``);
    None otherwise: delivered, failed, not due yet, or claimed by another worker.

    The claim is one conditional UPDATE, so of any number of jobs asking at once (the emitter's,
    the sweep's, an RQ retry) exactly one wins; it moves ``next_attempt_at`` to the end of a
    lease, so an attempt whose worker dies is tried again (by the sweep) after the lease,
    and counts the attempt, so a worker that keeps dying still uses up the schedule. The
    attempt's row is written now, with no outcome yet, and completed by ``finish_attempt``.
    """
    claimed = session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.id == event_id,
            OutboxEvent.status == "pending",
            OutboxEvent.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + lease, attempts=OutboxEvent.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return None
    event = session.get(OutboxEvent, event_id, populate_existing=True)
    attempt = OutboxAttempt(
        outbox_id=event_id, at=now, status_code=None, error="no outcome recorded", duration_ms=0
    )
    session.add(attempt)
    session.flush()
    return Claim(
        event_id,
        attempt.id,
        event.attempts,
        event.event,
        event.message_id,
        dict(event.payload),
        session.get(Subscription, event.subscription_id),
    )


def finish_attempt(
    session: Session,
    claim: Claim,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    retry_at: datetime | None,
) -> str:
    """Record the claimed attempt's outcome and move the event on: delivered (no error), due
    again at ``retry_at``, or failed for good (an error and no retry left). Returns the event's
    status. If the lease ran out and another attempt was claimed meanwhile, only the outcome is
    recorded: the newer attempt owns the schedule now."""
    session.execute(
        update(OutboxAttempt)
        .where(OutboxAttempt.id == claim.attempt_id)
        .values(status_code=status_code, error=error, duration_ms=duration_ms)
        .execution_options(synchronize_session=False)
    )
    if error is None:
        values: dict = {"status": "delivered", "delivered_at": utcnow(), "last_error": None}
    elif retry_at is None:
        values = {"status": "failed", "last_error": error}
    else:
        values = {"next_attempt_at": retry_at, "last_error": error}
    session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.id == claim.event_id,
            OutboxEvent.status == "pending",
            OutboxEvent.attempts == claim.number,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return session.scalar(select(OutboxEvent.status).where(OutboxEvent.id == claim.event_id))
