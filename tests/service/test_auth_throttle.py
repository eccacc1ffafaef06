"""The login throttle (issue #9 item 12: 300 wrong logins in 3.7 s were all answered): at most
``PINGYI_LOGIN_LIMIT`` refused logins per client address in the window, then 429 with
Retry-After, counted in the database without Redis and when Redis is down. Redis itself, shared
by several gunicorn workers, is in ``test_auth_live.py``."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.models.service import LoginFailure
from service.store.engine import make_engine, session_scope
from service.web.throttle import address_key
from tests.service.auth_setup import SAME, app_on, new_token

WRONG = {"token": "pyt_wrong"}


ADDRESS = "198.51.100.7"


def _flood(client, n: int, address: str = ADDRESS) -> list:
    env = {"REMOTE_ADDR": address}
    return [client.post("/login", data=WRONG, headers=SAME, environ_base=env) for _ in range(n)]


def test_fifty_wrong_logins_are_mostly_refused_429_and_the_window_reopens(
    migrated_db_url: str,
) -> None:
    """The window is a minute, so however slowly a loaded machine answers the fifty, they all
    fall in it; that it reopens is shown by ageing the counted attempts past it (a two-second
    window once let a slow run's later attempts through, 40 x 429 and 10 x 401)."""
    _, token = new_token(migrated_db_url, "viewer")
    env = {"PINGYI_LOGIN_LIMIT": "5", "PINGYI_LOGIN_WINDOW_SECONDS": "60"}
    with app_on(migrated_db_url, **env) as app:
        client = app.test_client()
        answers = _flood(client, 50)
        counts = Counter(r.status_code for r in answers)
        assert counts == {401: 5, 429: 45}, counts
        assert [r.status_code for r in answers[:5]] == [401] * 5
        for r in answers[5:]:
            assert 1 <= int(r.headers["Retry-After"]) <= 60
            assert "尝试次数过多" in r.get_data(as_text=True)
        # While throttled, even the right token is not looked at.
        right = client.post(
            "/login", data={"token": token}, headers=SAME, environ_base={"REMOTE_ADDR": ADDRESS}
        )
        assert right.status_code == 429
        # Another address is not held back by this one.
        other = client.post(
            "/login",
            data={"token": token},
            headers=SAME,
            environ_base={"REMOTE_ADDR": "198.51.100.8"},
        )
        assert other.status_code == 302
        _age_attempts(migrated_db_url, timedelta(seconds=61))
        again = client.post(
            "/login", data={"token": token}, headers=SAME, environ_base={"REMOTE_ADDR": ADDRESS}
        )
        assert again.status_code == 302 and client.get("/").status_code == 200


def _age_attempts(db_url: str, by: timedelta) -> None:
    """Move every counted attempt ``by`` into the past, as if that much time had gone by."""
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            rows = session.scalars(select(LoginFailure)).all()
            assert rows, "the flood's refused logins are counted in the database"
            for row in rows:
                row.at = row.at - by
    finally:
        engine.dispose()


def test_successful_logins_use_up_no_allowance(migrated_db_url: str) -> None:
    _, token = new_token(migrated_db_url, "viewer")
    with app_on(migrated_db_url, PINGYI_LOGIN_LIMIT="3") as app:
        client = app.test_client()
        for _ in range(10):  # a whole office behind one address logging in each morning
            assert client.post("/login", data={"token": token}, headers=SAME).status_code == 302
        assert [r.status_code for r in _flood(client, 4, "127.0.0.1")] == [401, 401, 401, 429]


def test_an_ipv6_network_is_one_address_to_the_throttle() -> None:
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1") == "addr:192.0.2.1"
    assert address_key("192.0.2.1") != address_key("192.0.2.2")


@pytest.mark.parametrize("redis", ["up", "down"])
def test_with_redis_and_when_redis_is_down_the_throttle_still_counts(
    service, redis: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = service.redis_url if redis == "up" else "redis://127.0.0.1:1/0"
    with app_on(service.db_url, url, PINGYI_LOGIN_LIMIT="4") as app:
        answers = _flood(app.test_client(), 12)
    assert Counter(r.status_code for r in answers) == {401: 4, 429: 8}
    in_db = service.scalar("select count(*) from login_failures")
    if redis == "up":
        assert in_db == 0
        from redis import Redis

        assert Redis.from_url(service.redis_url).zcard("pingyi:login:addr:198.51.100.7") == 4
    else:
        assert in_db == 4 and "Redis unavailable" in caplog.text
