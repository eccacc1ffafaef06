"""Who is asking, and may they: a bearer token or the staff page's session cookie, the role it
needs, and, for a cookie, proof that the request came from pingyi's own pages.

A bearer token arrives in the ``Authorization`` header, which a browser never adds to a
cross-site request by itself, so it needs nothing more. A cookie is sent by the browser with any
request to the service, including a form another site posts; so a state-changing request
authenticated by the cookie must also come from an allowed origin (``Origin``, or ``Referer``
when there is no ``Origin``) and carry the session's CSRF token (the form field ``csrf_token`` or
the header ``X-CSRF-Token``). Either missing or wrong: 403, logged without any secret.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, g, request
from markupsafe import Markup, escape

from service.store.sessions import find_session
from service.store.tokens import live_token

logger = logging.getLogger(__name__)

RANK = {"viewer": 1, "admin": 2}
COOKIE = "pingyi_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    """An authenticated request: its role and token, and how it proved itself."""

    role: str
    token_id: int
    via: str  # "bearer" or "cookie"
    session_id: str | None = None  # the cookie's value, for the CSRF token; never logged


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def current_caller() -> Caller | None:
    """The caller of this request, or None (cached on ``g``). A state-changing request that the
    cookie authenticates is refused 403 here unless its origin and CSRF token are right."""
    if "caller" in g:
        return g.caller
    g.caller = None
    context = current_app.extensions["pingyi"]
    token = bearer_token()
    if request.headers.get("Authorization"):
        # A header that is there decides alone: a wrong token is not rescued by a cookie.
        if token:
            with context.session() as session:
                row = live_token(session, token)
                if row is not None:
                    g.caller = Caller(row.role, row.id, "bearer")
        return g.caller
    session_id = request.cookies.get(COOKIE)
    if session_id:
        idle = timedelta(minutes=context.config.auth.session_idle_minutes)
        with context.session() as session:
            live = find_session(session, session_id, idle)
        if live is not None:
            caller = Caller(live.role, live.token_id, "cookie", session_id)
            if request.method not in SAFE_METHODS:
                check_cookie_request(caller)  # aborts 403 before the caller is remembered
            g.caller = caller
    return g.caller


def current_role() -> str | None:
    """The caller's role for this request, or None."""
    caller = current_caller()
    return caller.role if caller else None


def csrf_token(session_id: str) -> str:
    """The session's CSRF token: an HMAC keyed by the session id, so it is stored nowhere, dies
    with the session, and cannot be made without the cookie it belongs to."""
    return hmac.new(session_id.encode("utf-8"), b"pingyi-csrf-v1", hashlib.sha256).hexdigest()


def csrf_field() -> Markup:
    """The hidden form field every state-changing form of a logged-in page carries."""
    caller = current_caller()
    if caller is None or caller.session_id is None:
        return Markup("")
    value = escape(csrf_token(caller.session_id))
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{value}">')


def allowed_origins() -> set[str]:
    """The configured origins, or else the service's own origin as this request names it
    (behind a proxy, with ``PINGYI_TRUSTED_PROXIES``, the one the proxy reports)."""
    configured = current_app.extensions["pingyi"].config.auth.allowed_origins
    return set(configured) if configured else {f"{request.scheme}://{request.host}".lower()}


def request_origin() -> str | None:
    """Where the request says it comes from: ``Origin``, else the origin of ``Referer``."""
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.strip().lower()
    referer = request.headers.get("Referer")
    if referer:
        parts = urlsplit(referer.strip())
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}".lower()
        return "invalid"
    return None


def refuse(reason: str, message: str) -> None:
    """403, logged with what was wrong but no token, cookie or CSRF value."""
    logger.warning(
        "refused %s %s from %s: %s (origin %r)",
        request.method,
        request.path,
        request.remote_addr,
        reason,
        (request.headers.get("Origin") or "")[:200],
    )
    abort(403, description=message)


def check_origin() -> None:
    """Refuse a request that does not come from an allowed origin (or does not say)."""
    origin = request_origin()
    if origin is None:
        refuse("no Origin or Referer", "refused: the request names no Origin or Referer")
    if origin not in allowed_origins():
        refuse("cross-origin", "refused: a cross-origin request may not change anything")


def check_cookie_request(caller: Caller) -> None:
    """Origin, then CSRF token: both must be right for a cookie to change anything."""
    check_origin()
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    expected = csrf_token(caller.session_id or "")
    if not hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode("ascii")):
        reason = "CSRF token missing" if not sent else "CSRF token wrong"
        refuse(reason, f"refused: {reason}; reload the page and try again")


def require(role: str) -> Callable:
    """Decorator: 401 without a valid token or session, 403 when its role is too low (or, for a
    cookie, when the request is cross-origin or lacks the CSRF token)."""

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
