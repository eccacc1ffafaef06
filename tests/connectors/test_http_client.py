"""The shared client's GET, the status on its errors, a platform's own rate-limit wait, and the
redaction of URL queries from every log record (connectors/http.py)."""

from __future__ import annotations

import logging

import pytest
import requests

from connectors.http import HttpClient, HttpError, RetryPolicy, redact_query
from tests.connectors.test_http import Script, client

SECRET = "s3cr3tAppSecret"
TOKEN = "tok3nAccess"


def test_get_is_sent_as_a_get_with_its_query_and_retried_as_one() -> None:
    sleeps: list[float] = []
    with Script([(503, {}, 0)]) as server:
        response = client(sleeps).get(server.url, what="list", params={"page": "2"})
    assert response.status_code == 200
    assert server.seen == [("GET", "/rpc?page=2"), ("GET", "/rpc?page=2")]
    assert len(sleeps) == 1


def test_an_http_error_carries_the_status_of_the_answer_or_none_without_one() -> None:
    sleeps: list[float] = []
    with Script([(404, {}, 0), (401, {}, 0), (503, {}, 0), (503, {}, 0)]) as server:
        http = client(sleeps, attempts=2)
        with pytest.raises(HttpError) as missing:
            http.get(server.url, what="entry")
        with pytest.raises(HttpError) as refused:
            http.post(server.url, what="token")
        with pytest.raises(HttpError, match="gave up after 2 attempts") as busy:
            http.get(server.url, what="list")
        url = server.url
    assert (missing.value.status, refused.value.status, busy.value.status) == (404, 401, 503)
    with pytest.raises(HttpError, match="connection failed") as down:
        client(sleeps, attempts=1, connect_timeout=0.5).get(url, what="list")
    assert down.value.status is None


def test_a_platform_supplies_the_wait_of_a_rate_limited_answer_without_retry_after() -> None:
    asked: list[int] = []

    def reset_header(response: requests.Response) -> float | None:
        asked.append(response.status_code)
        value = response.headers.get("X-RateLimit-Reset")
        return float(value) if value else None

    sleeps: list[float] = []
    steps = [
        (429, {"X-RateLimit-Reset": "7"}, 0),  # the platform's own header: its wait
        (429, {"Retry-After": "3", "X-RateLimit-Reset": "9"}, 0),  # Retry-After wins
        (429, {}, 0),  # nothing said: the client's own backoff (3/4 of 40 ms at rng 0.5)
        (500, {"X-RateLimit-Reset": "5"}, 0),  # not a rate limit: the reader is not asked
    ]
    with Script(steps) as server:
        http = HttpClient(
            RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.05, max_total_wait=60),
            sleep=sleeps.append,
            rng=lambda: 0.5,
            rate_limit_wait=reset_header,
        )
        assert http.get(server.url, what="entries").status_code == 200
    assert sleeps == pytest.approx([7.0, 3.0, 0.04 * 0.75, 0.05 * 0.75])
    assert asked == [429, 429]


def test_a_platform_wait_beyond_the_total_limit_fails_at_once_with_the_status() -> None:
    sleeps: list[float] = []
    with Script([(429, {"X-RateLimit-Reset": "3600"}, 0)]) as server:
        http = HttpClient(
            RetryPolicy(max_total_wait=60),
            sleep=sleeps.append,
            rate_limit_wait=lambda r: float(r.headers["X-RateLimit-Reset"]),
        )
        with pytest.raises(HttpError, match="waiting 3600 s more would pass the 60 s") as exc:
            http.get(server.url, what="entries")
    assert exc.value.status == 429 and sleeps == [] and server.hits == 1


def test_no_query_of_a_request_url_reaches_any_log_record(caplog) -> None:
    """urllib3 writes each request line with its query at DEBUG; the redaction in http.py cuts
    it for every client, on success, on retries, on a redirect and on failure."""
    query = {"appid": "app1", "secret": SECRET, "access_token": TOKEN}
    redirect = f"/next?access_token={TOKEN}"
    steps = [(503, {}, 0), (200, {}, 0), (302, {"Location": redirect}, 0), (200, {}, 0)]
    steps += [(404, {}, 0)]
    sleeps: list[float] = []
    caplog.set_level(logging.DEBUG)
    with Script(steps) as server:
        http = client(sleeps)
        http.get(server.url, what="token", params=query)
        http.post(server.url + f"?secret={SECRET}", what="signed", json={"a": 1})
        with pytest.raises(HttpError) as failed:
            http.get(server.url, what="answer", params={"access_token": TOKEN})
    assert [path for _, path in server.seen].count(redirect) == 1  # the secrets were sent
    lines = [record.getMessage() for record in caplog.records]
    urllib3_lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any('"GET /rpc?… HTTP/1.1" 503' in line for line in urllib3_lines), urllib3_lines
    assert any('"GET /next?… HTTP/1.1" 200' in line for line in urllib3_lines), urllib3_lines
    for line in [*lines, str(failed.value)]:
        assert SECRET not in line and TOKEN not in line, line
        assert "appid=" not in line and "?secret" not in line, line


def test_redact_query_cuts_every_query_and_keeps_the_rest() -> None:
    line = 'http://h:80 "GET /a?x=1&y=2 HTTP/1.1" 200 5; then /b?z=3'
    assert redact_query(line) == 'http://h:80 "GET /a?… HTTP/1.1" 200 5; then /b?…'
    assert redact_query("no query here") == "no query here"
