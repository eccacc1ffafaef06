"""Staff API tokens and roles (SPEC §6).

A token is shown once, at creation; only its SHA-256 is stored, so a copy of the database does
not hand out access. ``viewer`` reads and downloads; ``admin`` also closes rounds, vetoes and
draws. Browsers (the status page) carry the same token in an HttpOnly cookie set by a login form.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app, g, request
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.models_service import ApiToken
from service.store import StoreError, append_audit, utcnow

ROLES = ("viewer", "admin")
RANK = {"viewer": 1, "admin": 2}
COOKIE = "pingyi_token"
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


def presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE) or None


def current_role() -> str | None:
    """The caller's role for this request (cached on ``g``)."""
    if "role" not in g:
        token = presented_token()
        g.role = None
        if token:
            with current_app.extensions["pingyi"].session() as session:
                g.role = role_of(session, token)
    return g.role


def require(role: str) -> Callable:
    """Decorator: 401 without a valid token, 403 when the token's role is too low."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            have = current_role()
            if have is None:
                abort(401, description="a valid bearer token is required")
            if RANK[have] < RANK[role]:
                abort(403, description=f"this needs the {role} role")
            return view(*args, **kwargs)

        return wrapped

    return decorate
