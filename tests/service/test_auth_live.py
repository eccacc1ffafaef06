"""Staff access against the service as production runs it (issue #9 item 12): gunicorn with two
workers on PostgreSQL and Redis, spoken to over HTTP; the login throttle is shared by the
workers through Redis; a cross-origin post with the admin's session changes nothing; and
Debian's Chromium logs in and out with the page's own forms."""

from __future__ import annotations

import re
import time
from collections import Counter

import requests

from tests.harness.browser import Browser
from tests.harness.processes import wait_for
from tests.service.auth_setup import ROUND, new_token


def test_fifty_wrong_logins_to_two_workers_are_mostly_refused_429(service) -> None:
    _, token = new_token(service.db_url, "viewer")
    web = service.start_web(workers=2, PINGYI_LOGIN_LIMIT="10", PINGYI_LOGIN_WINDOW_SECONDS="4")
    origin = {"Origin": web.base}
    # A fresh connection each time, as a guessing script would: spread over both workers.
    started = time.monotonic()
    answers = [
        requests.post(
            web.url("/login"), data={"token": f"pyt_guess{i}"}, headers=origin, timeout=10
        )
        for i in range(50)
    ]
    took = time.monotonic() - started
    counts = Counter(r.status_code for r in answers)
    assert counts == {401: 10, 429: 40}, (counts, took)
    waits = {int(r.headers["Retry-After"]) for r in answers if r.status_code == 429}
    assert waits <= {1, 2, 3, 4}, waits
    time.sleep(max(waits) + 0.2)
    ok = requests.post(
        web.url("/login"), data={"token": token}, headers=origin, allow_redirects=False, timeout=10
    )
    assert ok.status_code == 302 and "pingyi_session" in ok.cookies


def test_a_cross_origin_post_with_the_session_cookie_is_refused_by_the_running_service(
    service,
) -> None:
    service.setup_round(ROUND, seats=4, pool=8)
    _, admin = new_token(service.db_url, "admin")
    web = service.start_web(workers=1)
    browser = requests.Session()
    r = browser.post(web.url("/login"), data={"token": admin}, headers={"Origin": web.base})
    assert r.status_code == 200 and "pingyi_session" in browser.cookies
    assert browser.cookies["pingyi_session"] != admin
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', r.text).group(1)
    close = web.url(f"/api/v1/rounds/{ROUND}/close")

    attack = browser.post(close, data={}, headers={"Origin": "https://evil.example"})
    assert attack.status_code == 403 and "cross-origin" in attack.json()["message"]
    forged = browser.post(close, data={"csrf_token": "0" * 64}, headers={"Origin": web.base})
    assert forged.status_code == 403 and "CSRF" in forged.json()["message"]
    assert service.scalar("select status from rounds where id = :r", r=ROUND) == "open"
    assert service.scalar("select count(*) from audit_log where action = 'round.close'") == 0
    assert "pyt_" not in web.log.read_text() and csrf not in web.log.read_text()

    done = browser.post(close, data={"csrf_token": csrf}, headers={"Origin": web.base})
    assert done.status_code == 202, done.text
    assert service.scalar("select status from rounds where id = :r", r=ROUND) == "closed"


def test_chromium_logs_in_and_out_with_the_pages_forms(service, chromium: str) -> None:
    _, viewer = new_token(service.db_url, "viewer")
    web = service.start_web(workers=1)
    browser = Browser(service, chromium)
    try:
        browser.navigate(web.url("/"))
        browser.evaluate(
            f"document.querySelector('input[name=token]').value = {viewer!r};"
            "document.querySelector('form').submit()"
        )
        wait_for(
            lambda: (
                browser.evaluate("!!document.querySelector('#rounds, p')")
                and "运行状态" in browser.evaluate("document.title + document.body.innerText")
            ),
            15,
            what="status page",
        )
        assert browser.evaluate("document.cookie") == ""  # HttpOnly
        assert service.scalar("select count(*) from web_sessions") == 1
        has_csrf = "!!document.querySelector('form input[name=csrf_token]')"
        assert browser.evaluate(has_csrf)
        browser.evaluate("document.querySelector('form.inline').submit()")
        wait_for(
            lambda: browser.evaluate("!!document.querySelector('input[name=token]')"),
            15,
            what="the login page after logout",
        )
        assert service.scalar("select count(*) from web_sessions") == 0
    finally:
        browser.close()
