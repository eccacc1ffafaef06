"""Outgoing events for automation: written to the outbox in the transaction that caused them.

An event exists once the change it reports is committed, and never before; delivery (signed,
retried, every attempt logged) is the notify job's business.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models.service import OutboxEvent, Subscription
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
