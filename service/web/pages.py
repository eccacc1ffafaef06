"""``GET /``: a small HTML status page for staff, with download links; ``/login`` and ``/logout``.

Browsers cannot send a bearer header on a link click, so the page has a login form. The token
typed there is checked once and traded for a server-side session (``service/store/sessions.py``):
the HttpOnly, SameSite=Strict cookie holds only a random session id, so a stolen cookie dies at
logout, when idle, at its absolute limit or with its token, and never reveals the token. Logins
are throttled per client address (``service/web/throttle.py``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from service.store.rounds import list_rounds
from service.store.sessions import close_session, open_session, prune_sessions
from service.store.tokens import live_token
from service.web.api import round_json
from service.web.auth import COOKIE, check_origin, csrf_field, current_caller, current_role
from service.web.status import service_status
from service.web.throttle import LoginThrottle, address_key

logger = logging.getLogger(__name__)
web = Blueprint("web", __name__)
# The cookie of releases before sessions held the token itself; a login or logout clears it.
OLD_COOKIE = "pingyi_token"


@web.app_template_filter("localtime")
def localtime(value: str | None) -> str:
    """An ISO time as staff read it: in the body's own zone, to the minute, e.g. 2026-11-30 23:59."""
    if not value:
        return "—"
    zone = ZoneInfo(current_app.extensions["pingyi"].config.circular.timezone)
    return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")


@web.app_context_processor
def _forms() -> dict:
    """``{{ csrf_field() }}`` in every template: each state-changing form must carry it."""
    return {"csrf_field": csrf_field}


# How the office names the kinds of round (一月一评议、一季一汇总、半年一总评).
KIND_NAMES = {"monthly": "月度评议", "quarterly": "季度汇总", "semiannual": "半年总评"}


@web.get("/")
def index():
    role = current_role()
    if role is None:
        return render_template("status/login.html", error=None), 401
    context = current_app.extensions["pingyi"]
    with context.session() as session:
        data = service_status(session, context.queue)
        closed = list_rounds(session, status="closed", limit=12)
        recent = [round_json(session, r) for r in closed]
    return render_template(
        "status/index.html", status=data, recent=recent, role=role, kind_names=KIND_NAMES
    )


def _login_page(error: str, status: int) -> Response:
    return make_response(render_template("status/login.html", error=error), status)


@web.post("/login")
def login():
    """Trade a live token for a session. The origin is checked (no other site may log a browser
    in), then the throttle, before the token is looked at."""
    check_origin()
    context = current_app.extensions["pingyi"]
    auth = context.config.auth
    throttle = LoginThrottle(context)
    key = address_key(request.remote_addr)
    attempt = throttle.begin(key)
    if not attempt.allowed:
        logger.warning("login throttled for %s (retry after %d s)", key, attempt.retry_after)
        page = _login_page(
            f"尝试次数过多，请 {attempt.retry_after} 秒后再试 · too many attempts, "
            f"try again in {attempt.retry_after} s",
            429,
        )
        page.headers["Retry-After"] = str(attempt.retry_after)
        return page
    token = (request.form.get("token") or "").strip()
    session_id = None
    with context.session() as session:
        row = live_token(session, token) if token else None
        if row is not None:
            prune_sessions(session, timedelta(minutes=auth.session_idle_minutes))
            session_id = open_session(session, row.id, timedelta(hours=auth.session_max_hours))
            token_id = row.id
    if session_id is None:
        logger.warning("login refused for %s: no live token", key)
        return _login_page("令牌无效或已过期 · invalid or expired token", 401)
    throttle.succeeded(attempt)
    logger.info("login with token %d from %s", token_id, key)
    response = make_response(redirect(url_for("web.index")))
    secure = {"always": True, "never": False}.get(auth.cookie_secure, request.is_secure)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=auth.session_max_hours * 3600,
        path="/",
        secure=secure,
        httponly=True,
        samesite="Strict",
    )
    response.delete_cookie(OLD_COOKIE)
    return response


@web.post("/logout")
def logout():
    """End the session (its row is deleted) and clear the cookie. A live session's logout is
    checked like any state-changing cookie request (origin and CSRF token), so no other site
    can log staff out."""
    caller = current_caller()
    if caller is not None and caller.session_id is not None:
        with current_app.extensions["pingyi"].session() as session:
            close_session(session, caller.session_id)
    response = make_response(redirect(url_for("web.index")))
    response.delete_cookie(COOKIE, path="/")
    response.delete_cookie(OLD_COOKIE)
    return response
