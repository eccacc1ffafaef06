"""Staff API tokens, stored hashed, with their roles, expiry and revocation."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.models.service import ApiToken
from service.store.audit import append_audit
from service.store.engine import StoreError, as_utc, utcnow
from service.store.sessions import revoke_sessions

ROLES = ("viewer", "admin")


TOKEN_PREFIX = "pyt_"
# last_used_at is written at most this often per token: a write per API request would cost the
# database more than the minute of precision is worth.
TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session, role: str, name: str, expires_at: datetime, actor: str = "cli"
) -> tuple[int, str]:
    """A new bearer token: its id and its value (returned once; the store keeps its hash only).

    Every new token expires: a forgotten token must not stay valid for ever.
    """
    if role not in ROLES:
        raise StoreError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if expires_at.tzinfo is None:
        raise StoreError("a token's expiry needs a time zone")
    now = utcnow()
    if expires_at <= now:
        raise StoreError(f"the expiry {expires_at.isoformat()} is in the past")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name, role=role, token_sha256=token_hash(token), created_at=now, expires_at=expires_at
    )
    session.add(row)
    session.flush()
    detail = {"id": row.id, "name": name, "role": role, "expires_at": expires_at.isoformat()}
    append_audit(session, "token.create", detail, actor=actor)
    return row.id, token


def is_live(row: ApiToken, now: datetime) -> bool:
    """Not revoked and not expired (tokens from before expiry existed have none)."""
    expires = as_utc(row.expires_at)
    return row.revoked_at is None and (expires is None or expires > now)


def touch_token(session: Session, row: ApiToken, now: datetime) -> None:
    """Record the use, at most once a minute (``TOUCH_EVERY``)."""
    last = as_utc(row.last_used_at)
    if last is None or now - last >= TOUCH_EVERY:
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))


def live_token(session: Session, token: str) -> ApiToken | None:
    """The token row if ``token`` is live (known, not revoked, not expired), recording its use."""
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_sha256 == token_hash(token))
    ).first()
    now = utcnow()
    if row is None or not is_live(row, now):
        return None
    touch_token(session, row, now)
    return row


def role_of(session: Session, token: str) -> str | None:
    """The role of a live token, or None."""
    row = live_token(session, token)
    return row.role if row is not None else None


def token_json(row: ApiToken, now: datetime | None = None) -> dict:
    """What may be shown about a token: everything but its value and its hash."""

    def iso(value: datetime | None) -> str | None:
        return as_utc(value).isoformat() if value is not None else None

    now = now or utcnow()
    expires = as_utc(row.expires_at)
    state = (
        "revoked"
        if row.revoked_at is not None
        else "expired"
        if expires is not None and expires <= now
        else "live"
    )
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "expires_at": iso(row.expires_at),
        "revoked_at": iso(row.revoked_at),
        "state": state,
    }


def list_tokens(session: Session) -> list[dict]:
    """Every token, oldest first, as :func:`token_json` shows it."""
    now = utcnow()
    return [token_json(r, now) for r in session.scalars(select(ApiToken).order_by(ApiToken.id))]


def revoke_token(session: Session, token_id: int, actor: str = "cli") -> dict:
    """Revoke a token and end every page session opened with it; audit-logged. Revoking a token
    that is already revoked changes nothing and logs nothing."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise StoreError(f"unknown token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        ended = revoke_sessions(session, token_id, row.revoked_at)
        detail = {"id": row.id, "name": row.name, "role": row.role, "sessions_ended": ended}
        append_audit(session, "token.revoke", detail, actor=actor)
        session.flush()
    return token_json(row)
