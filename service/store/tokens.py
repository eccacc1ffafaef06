"""Staff API tokens, stored hashed, and their roles."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.models.service import ApiToken
from service.store.audit import append_audit
from service.store.engine import StoreError, utcnow

ROLES = ("viewer", "admin")


TOKEN_PREFIX = "pyt_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, role: str, name: str) -> str:
    """A new bearer token (returned once); the store keeps its hash only."""
    if role not in ROLES:
        raise StoreError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, role=role, token_sha256=token_hash(token), created_at=utcnow()))
    append_audit(session, "token.create", {"name": name, "role": role})
    return token


def role_of(session: Session, token: str) -> str | None:
    """The role of a live token, or None."""
    row = session.scalars(
        select(ApiToken).where(
            ApiToken.token_sha256 == token_hash(token), ApiToken.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=utcnow()))
    return row.role
