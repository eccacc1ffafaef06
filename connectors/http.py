"""One HTTP session for a connector: timeouts, backoff with jitter, ``Retry-After``, a cap.

Platforms answer 429 and 5xx and time out (docs/connectors.md): a poll backs off and tries again, honours
``Retry-After`` (seconds or an HTTP date), and gives up with a clear error after a bounded number
of attempts *and* a bounded total wait, so a scheduled poll never hangs and its cursor stays where
it was. Logs name the call and the attempt, never a URL query, a body or a header value.

Three things every platform gets from here rather than building its own:

- ``request(method, …)`` (and ``get``/``post``): a platform read with GET goes through the same
  retries as one spoken to with POST.
- ``HttpError.status``: the HTTP status of the answer that failed the call (None when there was
  none), so a platform can tell a refusal (401/403) or a missing thing (404) from other failures.
- ``rate_limit_wait``: a platform whose rate-limited answers (429, 503) say when to come back in
  their own way (another header, the body) gives a function reading that wait; it is asked only
  when the answer has no usable ``Retry-After``, and its wait is capped like any other.

And query strings never reach a log: urllib3 writes every request line, query and all, at DEBUG,
and platforms put access tokens and app secrets in queries. Importing this module installs one
filter on urllib3's loggers that cuts the query off any URL in their records (:class:`QueryRedactor`).
It is process-wide by nature (those loggers are), which is why it lives here, once, for every
connector, instead of in any one platform; it changes nothing but the text of those records.
"""

from __future__ import annotations

import logging
import random
import re
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
    """An HTTP exchange failed for good: a non-retryable status, or the retry cap was reached.

    ``status`` is the HTTP status of the last answer when the failure was an answer (a 401, a 404,
    a 503 that outlasted the retries), None when no answer came (timeout, connection failure)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# A query: from "?" to the end of the URL (whitespace or a quote ends a URL inside a log line).
_QUERY = re.compile(r"\?[^\s\"']*")
# The loggers that write request URLs: connectionpool (every request line), poolmanager and
# util.retry (redirects and retries, should a session enable them).
REDACTED_LOGGERS = ("urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry")


def redact_query(text: str) -> str:
    """``text`` with the query of every URL in it cut to ``?…``."""
    return _QUERY.sub("?…", text) if "?" in text else text


class QueryRedactor(logging.Filter):
    """Cuts URL queries out of a log record's message and arguments (see the module docstring).
    It never drops a record: the line still says which host and path were called."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact_query(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


def install_redaction() -> None:
    """Put one :class:`QueryRedactor` on each of urllib3's URL-writing loggers (idempotent)."""
    for name in REDACTED_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, QueryRedactor) for f in target.filters):
            target.addFilter(QueryRedactor())


install_redaction()


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
    them; ``waits`` records every wait taken, in order. ``rate_limit_wait`` reads the wait a
    platform writes in its own way on a 429 or 503 without ``Retry-After`` (seconds, or None when
    it says nothing; see the module docstring).
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        rate_limit_wait: Callable[[requests.Response], float | None] | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()
        self._sleep = sleep
        self._rng = rng
        self._rate_limit_wait = rate_limit_wait
        self.waits: list[float] = []

    def close(self) -> None:
        self.session.close()

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random, so retries from many
        pollers spread out but never hammer the server back to back."""
        step = min(self.policy.max_delay, self.policy.base_delay * 2 ** (attempt - 1))
        return step / 2 + self._rng() * step / 2

    def post(self, url: str, what: str, **kwargs: Any) -> requests.Response:
        """POST with retries (see :meth:`request`)."""
        return self.request("POST", url, what, **kwargs)

    def get(self, url: str, what: str, **kwargs: Any) -> requests.Response:
        """GET with retries (see :meth:`request`); a read, so always safe to repeat."""
        return self.request("GET", url, what, **kwargs)

    def _wait_for(self, response: requests.Response) -> float | None:
        """The wait a retryable answer asks for: ``Retry-After``, else the platform's reading."""
        delay = retry_after_seconds(response.headers.get("Retry-After"))
        if (
            delay is None
            and self._rate_limit_wait is not None
            and response.status_code in NOT_PROCESSED
        ):
            delay = self._rate_limit_wait(response)
            if delay is not None:
                delay = max(0.0, float(delay))
        return delay

    def request(
        self,
        method: str,
        url: str,
        what: str,
        idempotent: bool = True,
        courtesy: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """Send with retries; ``what`` names the call in logs and errors (e.g. the RPC method).

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
            last: int | None = None  # the status of this attempt's answer, if one came
            try:
                response = self.session.request(
                    method, url, timeout=(policy.connect_timeout, policy.read_timeout), **kwargs
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
                raise HttpError(f"{what}: {type(exc).__name__}: {redact_query(str(exc))}") from None
            else:
                status = response.status_code
                if status < 400:
                    return response
                if status not in RETRY_STATUSES or (not idempotent and status not in NOT_PROCESSED):
                    raise HttpError(
                        f"{what}: HTTP {status} {response.reason or ''}".rstrip(), status
                    )
                problem, last = f"HTTP {status}", status
                delay = self._wait_for(response)
                response.close()
            if attempt >= policy.attempts:
                raise HttpError(f"{what}: {problem}; gave up after {attempt} attempts", last)
            if delay is None:
                delay = self._backoff(attempt)
            if waited + delay > policy.max_total_wait:
                raise HttpError(
                    f"{what}: {problem}; waiting {delay:g} s more would pass the "
                    f"{policy.max_total_wait:g} s limit (after {attempt} attempts)",
                    last,
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
