"""The staff page's server-side sessions (issue #9 item 12): the cookie carries a random session
id, never the token, and the database keeps only its hash; a session ends at logout, with its
token (revoked or expired), when idle and at its absolute limit. Flask's test client, on SQLite
and PostgreSQL, without Redis."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select, text, update

from service.models.service import ApiToken, WebSession
from service.store.engine import make_engine, session_scope, utcnow
from tests.conftest import Cli
from tests.service.auth_setup import EVIL, SAME, app_on, csrf_of, login, new_token


def _set(db_url: str, model: type, where, **values) -> None:
    """Update rows through the model, so that times are stored as the app stores them."""
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            session.execute(update(model).where(where).values(**values))
    finally:
        engine.dispose()


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _sql(db_url: str, sql: str, **params) -> list:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def test_the_cookie_holds_a_session_id_not_the_token_and_the_database_only_its_hash(
    migrated_db_url: str,
) -> None:
    token_id, token = new_token(migrated_db_url, "viewer")
    with app_on(migrated_db_url) as app:
        client = app.test_client()
        response = client.post("/login", data={"token": token}, headers=SAME)
        assert response.status_code == 302
        set_cookies = response.headers.getlist("Set-Cookie")
        assert all(token not in c for c in set_cookies)
        cookie = client.get_cookie("pingyi_session")
        assert cookie.value != token and len(cookie.value) >= 40
        assert cookie.http_only and cookie.same_site == "Strict" and not cookie.secure
        assert client.get("/").status_code == 200
        # The token itself in a cookie (as releases before sessions set it) opens nothing.
        stale = app.test_client()
        stale.set_cookie("pingyi_token", token)
        stale.set_cookie("pingyi_session", token)
        assert stale.get("/").status_code == 401
        assert stale.get("/api/v1/rounds").status_code == 401
        # Over https the cookie is Secure (PINGYI_COOKIE_SECURE=auto), and always when told.
        https = app.test_client()
        headers = {"Origin": "https://localhost"}
        https.post("/login", data={"token": token}, base_url="https://localhost", headers=headers)
        assert https.get_cookie("pingyi_session").secure
    with app_on(migrated_db_url, PINGYI_COOKIE_SECURE="always") as app:
        client = app.test_client()
        login(client, token)
        assert client.get_cookie("pingyi_session").secure

    rows = [r._mapping for r in _sql(migrated_db_url, "select * from web_sessions order by id")]
    assert len(rows) == 3 and rows[0]["token_id"] == token_id
    assert rows[0]["id_sha256"] == hashlib.sha256(cookie.value.encode()).hexdigest()
    everything = str(_sql(migrated_db_url, "select * from web_sessions"))
    everything += str(_sql(migrated_db_url, "select * from api_tokens"))
    everything += str(_sql(migrated_db_url, "select * from audit_log"))
    assert cookie.value not in everything and token not in everything


def test_logout_ends_the_session_and_the_old_cookie_opens_nothing(migrated_db_url: str) -> None:
    _, token = new_token(migrated_db_url, "viewer")
    with app_on(migrated_db_url) as app:
        client = app.test_client()
        session_id = login(client, token)
        csrf = csrf_of(client)
        # Another site cannot log staff out: the session lives on.
        assert client.post("/logout", data={"csrf_token": csrf}, headers=EVIL).status_code == 403
        assert client.post("/logout", headers=SAME).status_code == 403  # no CSRF token
        assert client.get("/").status_code == 200
        out = client.post("/logout", data={"csrf_token": csrf}, headers=SAME)
        assert out.status_code == 302
        assert client.get_cookie("pingyi_session") is None
        assert _sql(migrated_db_url, "select count(*) from web_sessions")[0][0] == 0
        # Replaying the cookie's old value (a copy the browser or a thief kept): nothing.
        replay = app.test_client()
        replay.set_cookie("pingyi_session", session_id)
        assert replay.get("/").status_code == 401
        assert replay.get("/api/v1/status").status_code == 401


def test_revoking_a_token_ends_its_sessions_and_only_its_own(migrated_db_url: str) -> None:
    cli = Cli(migrated_db_url)
    doomed_id, doomed = new_token(migrated_db_url, "admin")
    _, other = new_token(migrated_db_url, "viewer")
    with app_on(migrated_db_url) as app:
        first, second, third = app.test_client(), app.test_client(), app.test_client()
        login(first, doomed)
        login(second, doomed)
        login(third, other)
        assert "revoked" in cli("token", "revoke", str(doomed_id))
        assert first.get("/").status_code == 401 and second.get("/").status_code == 401
        assert third.get("/").status_code == 200
        # The token itself: refused by the API and by the login form.
        headers = {"Authorization": f"Bearer {doomed}"}
        assert app.test_client().get("/api/v1/rounds", headers=headers).status_code == 401
        again = app.test_client().post("/login", data={"token": doomed}, headers=SAME)
        assert again.status_code == 401
        # A token revoked behind the session's back (its sessions not marked): they die too.
        _, third_token = new_token(migrated_db_url, "viewer")
        fourth = app.test_client()
        login(fourth, third_token)
        revoked_now = ApiToken.token_sha256 == _sha(third_token)
        _set(migrated_db_url, ApiToken, revoked_now, revoked_at=utcnow())
        assert fourth.get("/").status_code == 401
    revoked = _sql(
        migrated_db_url, "select count(*) from web_sessions where revoked_at is not null"
    )
    assert revoked[0][0] == 2
    audit = _sql(
        migrated_db_url, "select actor, detail from audit_log where action = 'token.revoke'"
    )
    assert len(audit) == 1 and '"sessions_ended": 2' in str(audit[0][1]).replace("'", '"')
    assert doomed not in str(audit)


def test_a_session_ends_when_idle_and_at_its_absolute_limit(migrated_db_url: str) -> None:
    _, token = new_token(migrated_db_url, "viewer")
    env = {"PINGYI_SESSION_IDLE_MINUTES": "5", "PINGYI_SESSION_MAX_HOURS": "2"}
    with app_on(migrated_db_url, **env) as app:
        idle, old = app.test_client(), app.test_client()
        idle_id = hashlib.sha256(login(idle, token).encode()).hexdigest()
        old_id = hashlib.sha256(login(old, token).encode()).hexdigest()
        # The absolute limit is set at login: two hours.
        engine = make_engine(migrated_db_url)
        with session_scope(engine) as session:
            row = session.scalars(select(WebSession)).first()
            lifetime = row.expires_at - row.created_at
        engine.dispose()
        assert abs(lifetime - timedelta(hours=2)) < timedelta(seconds=1)
        idle_row = WebSession.id_sha256 == idle_id
        _set(migrated_db_url, WebSession, idle_row, last_seen_at=utcnow() - timedelta(minutes=4))
        assert idle.get("/").status_code == 200  # four minutes idle: still fine, and seen now
        _set(migrated_db_url, WebSession, idle_row, last_seen_at=utcnow() - timedelta(minutes=6))
        assert idle.get("/").status_code == 401
        old_row = WebSession.id_sha256 == old_id
        _set(migrated_db_url, WebSession, old_row, expires_at=utcnow() - timedelta(seconds=1))
        assert old.get("/").status_code == 401


def test_an_expired_token_is_refused_by_the_api_the_login_and_its_sessions(
    migrated_db_url: str,
) -> None:
    token_id, token = new_token(migrated_db_url, "admin")
    headers = {"Authorization": f"Bearer {token}"}
    with app_on(migrated_db_url) as app:
        client = app.test_client()
        login(client, token)
        assert app.test_client().get("/api/v1/tokens", headers=headers).status_code == 200
        past = utcnow() - timedelta(minutes=1)
        _set(migrated_db_url, ApiToken, ApiToken.id == token_id, expires_at=past)
        assert app.test_client().get("/api/v1/tokens", headers=headers).status_code == 401
        assert client.get("/").status_code == 401
        refused = app.test_client().post("/login", data={"token": token}, headers=SAME)
        assert refused.status_code == 401
        assert "已过期" in refused.get_data(as_text=True)
