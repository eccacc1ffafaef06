"""The staff page's server-side sessions and the database side of the login throttle.

A browser never holds a bearer token: login trades the token for a random session id, whose
SHA-256 alone is stored (``web_sessions``). The session lives while its token does, until it has
been idle too long, until its absolute limit, until logout (the row is deleted) or until its
token is revoked (``revoked_at`` is set).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from service.models.service import ApiToken, LoginFailure, WebSession
from service.store.engine import as_utc, utcnow

# last_seen_at is written at most this often per session: the idle limit is counted in minutes,
# and a write for every page and download would cost more than it tells.
TOUCH_EVERY = timedelta(minutes=1)


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LiveSession:
    """A session that may be used now: its row id, its token's id and role."""

    id: int
    token_id: int
    role: str


def open_session(session: Session, token_id: int, max_age: timedelta) -> str:
    """A new session for the token; returns the session id (for the cookie, never stored)."""
    now = utcnow()
    session_id = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id_sha256=session_hash(session_id),
            token_id=token_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + max_age,
        )
    )
    return session_id


def find_session(session: Session, session_id: str, idle: timedelta) -> LiveSession | None:
    """The live session with this id, or None: unknown, revoked, past its absolute or idle
    limit, or its token revoked or expired. A live one is marked seen (at most once a minute)."""
    found = session.execute(
        select(WebSession, ApiToken)
        .join(ApiToken, ApiToken.id == WebSession.token_id)
        .where(WebSession.id_sha256 == session_hash(session_id))
    ).first()
    if found is None:
        return None
    row, token = found
    now = utcnow()
    expires = as_utc(token.expires_at)
    if (
        row.revoked_at is not None
        or token.revoked_at is not None
        or (expires is not None and expires <= now)
        or as_utc(row.expires_at) <= now
        or as_utc(row.last_seen_at) + idle <= now
    ):
        return None
    if now - as_utc(row.last_seen_at) >= TOUCH_EVERY:
        session.execute(update(WebSession).where(WebSession.id == row.id).values(last_seen_at=now))
    last_used = as_utc(token.last_used_at)
    if last_used is None or now - last_used >= TOUCH_EVERY:
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    return LiveSession(row.id, token.id, token.role)


def close_session(session: Session, session_id: str) -> bool:
    """Logout: delete the session's row. Whether there was one."""
    result = session.execute(
        delete(WebSession).where(WebSession.id_sha256 == session_hash(session_id))
    )
    return bool(result.rowcount)


def revoke_sessions(session: Session, token_id: int, at: datetime) -> int:
    """End every live session of a token (its revocation); how many there were."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.token_id == token_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return result.rowcount


def prune_sessions(session: Session, idle: timedelta) -> int:
    """Delete sessions that can no longer be used (past either limit, or revoked a day ago)."""
    now = utcnow()
    result = session.execute(
        delete(WebSession).where(
            (WebSession.expires_at <= now)
            | (WebSession.last_seen_at <= now - idle)
            | (WebSession.revoked_at <= now - timedelta(days=1))
        )
    )
    return result.rowcount


# ---- the login throttle without Redis: one row per attempt still counted ------------------


def add_attempt(session: Session, key: str, at: datetime) -> int:
    """Count a login attempt against ``key``; returns its row id (removed again if it succeeds)."""
    row = LoginFailure(key=key, at=at)
    session.add(row)
    session.flush()
    return row.id


def attempts_since(session: Session, key: str, since: datetime) -> tuple[int, datetime | None]:
    """How many attempts ``key`` has had since ``since``, and the oldest of them."""
    count, oldest = session.execute(
        select(func.count(), func.min(LoginFailure.at)).where(
            LoginFailure.key == key, LoginFailure.at > since
        )
    ).one()
    return count, as_utc(oldest)


def forget_attempt(session: Session, attempt_id: int) -> None:
    """A login that succeeded, or one refused by the throttle, is not held against the address."""
    session.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id))


def prune_attempts(session: Session, before: datetime) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.at <= before))
