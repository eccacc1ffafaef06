"""``GET /``: a small HTML status page for staff, with download links.

Browsers cannot send a bearer header on a link click, so the page has a login form: the token
typed there is kept in an HttpOnly, SameSite=Strict cookie and checked like a bearer token.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for

from service.store.rounds import list_rounds
from service.store.tokens import role_of
from service.web.api import round_json
from service.web.auth import COOKIE, current_role
from service.web.status import service_status

web = Blueprint("web", __name__)


@web.app_template_filter("localtime")
def localtime(value: str | None) -> str:
    """An ISO time as staff read it: in the body's own zone, to the minute, e.g. 2026-11-30 23:59."""
    if not value:
        return "—"
    zone = ZoneInfo(current_app.extensions["pingyi"].config.circular.timezone)
    return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")


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
    return render_template("status/index.html", status=data, recent=recent, role=role)


@web.post("/login")
def login():
    token = (request.form.get("token") or "").strip()
    context = current_app.extensions["pingyi"]
    with context.session() as session:
        role = role_of(session, token) if token else None
    if role is None:
        return render_template("status/login.html", error="令牌无效 · invalid token"), 401
    response = make_response(redirect(url_for("web.index")))
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure, max_age=8 * 3600
    )
    return response


@web.post("/logout")
def logout():
    response = make_response(redirect(url_for("web.index")))
    response.delete_cookie(COOKIE)
    return response
