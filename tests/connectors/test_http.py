"""The connector HTTP session: timeouts, backoff with jitter, Retry-After, and the cap."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors.http import HttpClient, HttpError, RetryPolicy, retry_after_seconds


class Script:
    """A local HTTP server answering GETs and POSTs from a script of (status, headers, delay)
    steps; ``seen`` keeps each request's method and path (query included)."""

    def __init__(self, steps: list[tuple[int, dict[str, str], float]]) -> None:
        self.steps = list(steps)
        self.hits = 0
        self.seen: list[tuple[str, str]] = []

    def __enter__(self) -> Script:
        script = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                script.hits += 1
                script.seen.append((self.command, self.path))
                status, headers, delay = script.steps.pop(0) if script.steps else (200, {}, 0)
                time.sleep(delay)
                body = b'{"ok": true}'
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client timed out and hung up

            do_GET = do_POST

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/rpc"
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorded_sleep() -> Iterator[list[float]]:
    yield []


def client(sleeps: list[float], **policy: float) -> HttpClient:
    defaults = {"attempts": 4, "base_delay": 0.01, "max_delay": 0.05, "read_timeout": 2.0}
    return HttpClient(RetryPolicy(**{**defaults, **policy}), sleep=sleeps.append, rng=lambda: 0.5)


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=42), usegmt=True), now) == 42
    assert retry_after_seconds(format_datetime(now - timedelta(minutes=5), usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_a_429_with_retry_after_is_waited_out_for_real_then_succeeds() -> None:
    with Script([(429, {"Retry-After": "1"}, 0)]) as server:
        http = HttpClient(RetryPolicy(attempts=3))
        start = time.monotonic()
        response = http.post(server.url, what="probe", data=b"{}")
        elapsed = time.monotonic() - start
    assert response.status_code == 200 and server.hits == 2
    assert http.waits == [1.0]
    assert elapsed >= 1.0


def test_5xx_backs_off_exponentially_with_jitter_up_to_the_cap(recorded_sleep) -> None:
    with Script([(503, {}, 0)] * 10) as server:
        http = client(recorded_sleep, attempts=4)
        with pytest.raises(HttpError, match=r"probe: HTTP 503; gave up after 4 attempts"):
            http.post(server.url, what="probe")
    assert server.hits == 4
    # equal jitter with rng 0.5: 3/4 of min(max_delay, base × 2^(n-1))
    assert recorded_sleep == pytest.approx([0.0075, 0.015, 0.03])


def test_a_retry_after_beyond_the_total_wait_is_refused_at_once(recorded_sleep) -> None:
    with Script([(429, {"Retry-After": "3600"}, 0)]) as server:
        http = client(recorded_sleep, max_total_wait=60)
        with pytest.raises(HttpError, match=r"waiting 3600 s more would pass the 60 s limit"):
            http.post(server.url, what="probe")
    assert recorded_sleep == [] and server.hits == 1


def test_a_client_error_is_not_retried(recorded_sleep) -> None:
    with Script([(404, {}, 0)]) as server, pytest.raises(HttpError, match="probe: HTTP 404"):
        client(recorded_sleep).post(server.url, what="probe")
    assert server.hits == 1


def test_timeouts_are_retried_then_reported(recorded_sleep) -> None:
    with Script([(200, {}, 1.0)] * 3) as server:
        http = client(recorded_sleep, attempts=2, read_timeout=0.2)
        with pytest.raises(HttpError, match=r"no answer within 0.2 s; gave up after 2 attempts"):
            http.post(server.url, what="probe")
    assert server.hits == 2


def test_a_call_that_may_have_been_done_is_not_repeated_after_a_timeout(recorded_sleep) -> None:
    with Script([(200, {}, 1.0)]) as server:
        http = client(recorded_sleep, read_timeout=0.2)
        with pytest.raises(HttpError, match="not retried"):
            http.post(server.url, what="add", idempotent=False)
    assert server.hits == 1


def test_a_call_that_may_have_been_done_is_repeated_after_a_429(recorded_sleep) -> None:
    with Script([(429, {}, 0), (500, {}, 0)]) as server:
        http = client(recorded_sleep)
        with pytest.raises(HttpError, match="add: HTTP 500"):
            http.post(server.url, what="add", idempotent=False)
    assert server.hits == 2  # 429 proves nothing was done; a 500 might have been


def test_connection_refused_is_retried_and_named(recorded_sleep) -> None:
    with Script([]) as server:
        url = server.url
    http = client(recorded_sleep, attempts=2, connect_timeout=0.5)
    with pytest.raises(HttpError, match=r"probe: connection failed .*gave up after 2 attempts"):
        http.post(url, what="probe")
    assert len(recorded_sleep) == 1


def test_a_courtesy_call_gets_one_short_attempt(recorded_sleep) -> None:
    expected = pytest.raises(HttpError, match="release: HTTP 503; gave up after 1 attempts")
    with Script([(503, {}, 0)] * 3) as server, expected:
        client(recorded_sleep).post(server.url, what="release", courtesy=True)
    assert server.hits == 1 and recorded_sleep == []
