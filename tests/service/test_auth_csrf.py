"""Cookie requests must come from pingyi's own pages (issue #9 item 12): a form another site
posts with the admin's cookie changes nothing; the page's own forms, carrying the session's CSRF
token, work; a bearer token needs neither. Flask's test client on PostgreSQL, with Redis as the
queue so that a close only enqueues its job."""

from __future__ import annotations

import logging

import pytest

from tests.service.auth_setup import EVIL, ORIGIN, ROUND, SAME, app_on, csrf_of, login, new_token

CLOSE = f"/api/v1/rounds/{ROUND}/close"


def _round_untouched(service) -> None:
    assert service.scalar("select status from rounds where id = :r", r=ROUND) == "open"
    assert service.scalar("select count(*) from round_work where closed_at is not null") == 0
    assert service.scalar("select count(*) from audit_log where action = 'round.close'") == 0


@pytest.fixture
def admin_app(service):
    service.setup_round(ROUND, seats=4, pool=8)
    with app_on(service.db_url, service.redis_url) as app:
        yield app


def test_a_cross_origin_form_post_with_the_admin_cookie_closes_nothing(
    service, admin_app, caplog: pytest.LogCaptureFixture
) -> None:
    _, admin = new_token(service.db_url)
    client = admin_app.test_client()
    session_id = login(client, admin)
    csrf = csrf_of(client)

    # What the attacker's page makes the browser send: the cookie, its own origin, no token.
    caplog.set_level(logging.WARNING, logger="service.web.auth")
    attack = client.post(CLOSE, data={"round": ROUND}, headers=EVIL)
    assert attack.status_code == 403
    assert attack.get_json()["message"] == "refused: a cross-origin request may not change anything"
    # Even holding the right CSRF token, another origin is refused; so is one that names none,
    # a Referer from elsewhere, and the opaque origin of a sandboxed frame.
    refused = [
        client.post(CLOSE, data={"csrf_token": csrf}, headers=EVIL),
        client.post(CLOSE, data={"csrf_token": csrf}),
        client.post(
            CLOSE, data={"csrf_token": csrf}, headers={"Referer": "https://evil.example/x"}
        ),
        client.post(CLOSE, data={"csrf_token": csrf}, headers={"Origin": "null"}),
        client.post(CLOSE, data={"csrf_token": csrf}, headers={"Origin": ORIGIN + ":8080"}),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert "names no Origin or Referer" in refused[1].get_json()["message"]
    _round_untouched(service)
    # Logged with the reason, never with the cookie or the token.
    logged = caplog.text
    assert "cross-origin" in logged and "https://evil.example" in logged
    assert session_id not in logged and csrf not in logged and admin not in logged

    # The page's own form: same origin (or a same-origin Referer), the CSRF field: closed.
    done = client.post(
        CLOSE, data={"csrf_token": csrf}, headers={"Referer": f"{ORIGIN}/", "Origin": ORIGIN}
    )
    assert done.status_code == 202, done.get_data(as_text=True)
    assert service.scalar("select status from rounds where id = :r", r=ROUND) == "closed"


def test_a_missing_or_wrong_csrf_token_is_refused(service, admin_app) -> None:
    _, admin = new_token(service.db_url)
    client, other = admin_app.test_client(), admin_app.test_client()
    login(client, admin)
    login(other, admin)
    mine, theirs = csrf_of(client), csrf_of(other)
    assert mine != theirs  # per session

    missing = client.post(CLOSE, headers=SAME)
    assert missing.status_code == 403
    assert missing.get_json()["message"].startswith("refused: CSRF token missing")
    for wrong in ("0" * 64, theirs, mine[:-1], mine.upper()):
        r = client.post(CLOSE, data={"csrf_token": wrong}, headers=SAME)
        assert r.status_code == 403 and "CSRF token wrong" in r.get_json()["message"], wrong
    veto = {"unit": "U3", "reason": "发生重大违纪", "by": "纪委"}
    r = client.post(f"/api/v1/rounds/{ROUND}/vetoes", json=veto, headers=SAME)
    assert r.status_code == 403
    _round_untouched(service)
    assert service.scalar("select count(*) from vetoes") == 0

    # From script on the page, the token goes in the X-CSRF-Token header.
    r = client.post(
        f"/api/v1/rounds/{ROUND}/vetoes", json=veto, headers={**SAME, "X-CSRF-Token": mine}
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    # Reading needs no token: GETs change nothing.
    assert client.get(f"/api/v1/rounds/{ROUND}").status_code == 200


def test_a_bearer_token_needs_neither_origin_nor_csrf_and_a_cookie_cannot_rescue_a_bad_one(
    service, admin_app
) -> None:
    _, admin = new_token(service.db_url)
    client = admin_app.test_client()
    login(client, admin)
    # The cookie is there, but a wrong bearer header decides alone.
    r = client.post(CLOSE, headers={**EVIL, "Authorization": "Bearer pyt_wrong"})
    assert r.status_code == 401
    _round_untouched(service)
    api = admin_app.test_client()  # no cookie: automation
    r = api.post(CLOSE, headers={**EVIL, "Authorization": f"Bearer {admin}"})
    assert r.status_code == 202, r.get_data(as_text=True)


def test_the_configured_origins_replace_the_requests_own(service) -> None:
    service.setup_round(ROUND, seats=4, pool=8)
    _, admin = new_token(service.db_url)
    public = "https://pingyi.example.gov.cn"
    with app_on(service.db_url, service.redis_url, PINGYI_ALLOWED_ORIGINS=f"{public}/") as app:
        client = app.test_client()
        login(client, admin, {"Origin": public})
        csrf = csrf_of(client)
        # The address the request came to is no longer enough once origins are configured.
        assert client.post(CLOSE, data={"csrf_token": csrf}, headers=SAME).status_code == 403
        _round_untouched(service)
        r = client.post(CLOSE, data={"csrf_token": csrf}, headers={"Origin": public})
        assert r.status_code == 202, r.get_data(as_text=True)


def test_behind_a_trusted_proxy_the_forwarded_origin_and_scheme_count(service) -> None:
    _, admin = new_token(service.db_url)
    public = "https://pingyi.example.gov.cn"
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "pingyi.example.gov.cn"}
    # Without PINGYI_TRUSTED_PROXIES, anyone could send those headers: they count for nothing.
    with app_on(service.db_url, service.redis_url) as app:
        r = app.test_client().post(
            "/login", data={"token": admin}, headers={**proxied, "Origin": public}
        )
        assert r.status_code == 403
    with app_on(service.db_url, service.redis_url, PINGYI_TRUSTED_PROXIES="1") as app:
        client = app.test_client()
        login(client, admin, {**proxied, "Origin": public})
        cookie = client.get_cookie("pingyi_session")
        assert cookie.secure and cookie.http_only and cookie.same_site == "Strict"
        logout = {"csrf_token": csrf_of(client)}
        assert client.post("/logout", data=logout, headers={**proxied, **SAME}).status_code == 403
        r = client.post("/logout", data=logout, headers={**proxied, "Origin": public})
        assert r.status_code == 302
