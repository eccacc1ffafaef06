"""One HTTP session for a connector: timeouts, backoff with jitter, ``Retry-After``, a cap.

Platforms answer 429 and 5xx and time out (docs/connectors.md): a poll backs off and tries again, honours
``Retry-After`` (seconds or an HTTP date), and gives up with a clear error after a bounded number
of attempts *and* a bounded total wait, so a scheduled poll never hangs and its cursor stays where
it was. Logs name the call and the attempt, never a URL query, a body or a header value.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from connectors.base import ConnectorError

logger = logging.getLogger(__name__)

# 408/425 are "try again" by definition; 429 is throttling; 5xx but 501/505 (which no retry
# can fix) are the server's passing trouble.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Answers that prove the server did not act on the request, so even a non-idempotent call
# (adding participants) may be sent again.
NOT_PROCESSED = frozenset({429, 503})


class HttpError(ConnectorError):
    """An HTTP exchange failed for good: a non-retryable status, or the retry cap was reached."""


@dataclass(frozen=True)
class RetryPolicy:
    """Timeouts and the retry schedule. Defaults suit a self-hosted server on a county network:
    5 s to connect, 120 s to read (a month's export is one response), at most 6 attempts and 180 s
    of waiting in all."""

    connect_timeout: float = 5.0
    read_timeout: float = 120.0
    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_total_wait: float = 180.0


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HttpClient:
    """A ``requests.Session`` with the policy applied to every call.

    ``sleep`` and ``rng`` are injectable so tests can observe the waits without sleeping through
    them; ``waits`` records every wait taken, in order.
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()
        self._sleep = sleep
        self._rng = rng
        self.waits: list[float] = []

    def close(self) -> None:
        self.session.close()

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random, so retries from many
        pollers spread out but never hammer the server back to back."""
        step = min(self.policy.max_delay, self.policy.base_delay * 2 ** (attempt - 1))
        return step / 2 + self._rng() * step / 2

    def post(
        self,
        url: str,
        what: str,
        idempotent: bool = True,
        courtesy: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """POST with retries; ``what`` names the call in logs and errors (e.g. the RPC method).

        A call that is not idempotent is retried only when the server certainly did not act on
        it (connection refused before sending, 429, 503), never after a read timeout. A
        ``courtesy`` call (releasing a session) gets one short attempt: nothing is lost without
        it, and a poll that already failed must not wait minutes more for it.
        """
        policy = self.policy
        if courtesy:
            policy = replace(policy, attempts=1, read_timeout=min(policy.read_timeout, 10.0))
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            delay: float | None = None
            try:
                response = self.session.post(
                    url, timeout=(policy.connect_timeout, policy.read_timeout), **kwargs
                )
            except requests.ConnectTimeout:
                problem = f"could not connect within {policy.connect_timeout:g} s"
            except requests.Timeout:
                problem = f"no answer within {policy.read_timeout:g} s"
                if not idempotent:
                    raise HttpError(
                        f"{what}: {problem}; not retried (it may have been done)"
                    ) from None
            except requests.ConnectionError as exc:
                problem = f"connection failed ({type(exc).__name__})"
                if not idempotent and not _refused(exc):
                    raise HttpError(
                        f"{what}: {problem}; not retried (it may have been done)"
                    ) from None
            except requests.RequestException as exc:
                raise HttpError(f"{what}: {type(exc).__name__}: {exc}") from None
            else:
                status = response.status_code
                if status < 400:
                    return response
                if status not in RETRY_STATUSES or (not idempotent and status not in NOT_PROCESSED):
                    raise HttpError(f"{what}: HTTP {status} {response.reason or ''}".rstrip())
                problem = f"HTTP {status}"
                delay = retry_after_seconds(response.headers.get("Retry-After"))
                response.close()
            if attempt >= policy.attempts:
                raise HttpError(f"{what}: {problem}; gave up after {attempt} attempts")
            if delay is None:
                delay = self._backoff(attempt)
            if waited + delay > policy.max_total_wait:
                raise HttpError(
                    f"{what}: {problem}; waiting {delay:g} s more would pass the "
                    f"{policy.max_total_wait:g} s limit (after {attempt} attempts)"
                )
            logger.warning(
                "%s: %s (attempt %d of %d), retrying in %.1f s",
                what,
                problem,
                attempt,
                policy.attempts,
                delay,
            )
            self.waits.append(delay)
            self._sleep(delay)
            waited += delay


def _refused(exc: requests.ConnectionError) -> bool:
    """True when the connection was refused outright: nothing was sent, so a retry is safe."""
    text = repr(exc)
    return "Connection refused" in text or "NewConnectionError" in text
