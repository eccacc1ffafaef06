"""What the staff-access tests share (docs/service.md, "Staff access and tokens"): an app on a
test's database, logging in through the form as a browser does, and reading the page's CSRF
token from its hidden field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from service.config import load_config
from service.store.engine import make_engine, session_scope, utcnow
from service.store.tokens import create_token
from service.web.app import create_app

# Flask's test client asks for http://localhost/ unless told otherwise: the app's own origin.
ORIGIN = "http://localhost"
SAME = {"Origin": ORIGIN}
EVIL = {"Origin": "https://evil.example"}
ROUND = "2026-10"


@contextmanager
def app_on(db_url: str, redis_url: str | None = None, **env: str) -> Iterator[Flask]:
    """``create_app`` as the web process builds it, from an environment (PINGYI_* settings)."""
    environ = {"DATABASE_URL": db_url, **({"REDIS_URL": redis_url} if redis_url else {}), **env}
    app = create_app(load_config(environ))
    try:
        yield app
    finally:
        app.extensions["pingyi"].engine.dispose()


def new_token(db_url: str, role: str = "admin", days: float = 30) -> tuple[int, str]:
    """A token made through the store (its id and value), expiring in ``days``."""
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            return create_token(session, role, "test", utcnow() + timedelta(days=days))
    finally:
        engine.dispose()


def login(client: FlaskClient, token: str, headers: dict | None = None) -> str:
    """Log in through the form; returns the session cookie's value."""
    response = client.post("/login", data={"token": token}, headers=headers or SAME)
    assert response.status_code == 302, response.get_data(as_text=True)
    cookie = client.get_cookie("pingyi_session")
    assert cookie is not None
    return cookie.value


def csrf_of(client: FlaskClient) -> str:
    """The CSRF token in the logged-in page's forms."""
    page = client.get("/").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page)
    assert match, page[:500]
    return match.group(1)
