"""Who is asking: the bearer token or the status page's cookie, and the role it needs."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app, g, request

from service.store.tokens import role_of

RANK = {"viewer": 1, "admin": 2}


COOKIE = "pingyi_token"


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
