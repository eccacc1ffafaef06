"""The receiver: ``POST /hooks/<source>`` — verify the raw body, store it in the inbox, answer.

What "verify" means is the source's platform's business, asked of the registry: the receiver
reads the headers the platform declares, hands it the raw body (and, for a platform that cannot
sign, the per-source key of ``/hooks/<source>/<key>``), and stores what it accepts. The delivery
is written to the inbox in one short transaction *before* it is acknowledged, and the inbox job
is enqueued only after that commit. So a 202 means the delivery is in the database; if Redis or
a worker loses the job, the sweeper finds the pending row. Answers: 202 stored · 200 duplicate or
an event the source ignores · 400 malformed · 401 forged or stale · 404 unknown source, or one
that takes no webhooks · 408 body not in within 10 s · 413 body over 1 MiB · 500 the source's
secret is not set in this web process's environment · 503 database down (the platform retries).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from flask import Flask
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from connectors.base import (
    ConfigError,
    Verifier,
    WebhookMalformed,
    WebhookRejected,
    WebhookRequest,
    Webhooks,
)
from connectors.registry import UnknownKind, platform
from service.context import Context
from service.metrics import DELIVERIES
from service.queue import INBOX
from service.store.inbox import DatabaseUnavailable
from service.store.sources import source_settings
from service.web.evaluator_page import browser_page, from_a_browser
from service.web.slow_bodies import WATCHDOG

logger = logging.getLogger(__name__)

# Sources change rarely; a few seconds of caching saves a query (and building the source's
# verifier, which may decode its secret) on every delivery.
SOURCE_TTL = 5.0
# At most this many sources are cached per web process (least recently used dropped first). A
# county has a handful; the bound is there so that nothing a sender controls (the name in the
# URL) can make the process keep memory: names that are not sources are never cached at all.
SOURCE_CACHE_SIZE = 256
# Within this window after this process last made sure an inbox job is on its way, a new
# delivery needs no Redis round trip: that job starts after the moment we checked, and it keeps
# looking for new deliveries for INGEST_LINGER seconds after the last ones (jobs/inbox.py),
# which is longer than this window. Under load this saves one Redis call per delivery.
WAKE_WINDOW = 0.2
# A delivery's body must be in within this many seconds of its headers (1 MiB at most, which a
# platform sends at once). A client trickling it would hold a serving thread for as long as it
# liked; it is answered 408 instead (service/web/slow_bodies.py).
BODY_SECONDS = 10.0


@dataclass(frozen=True)
class Hook:
    """A source as the receiver needs it: its platform's webhooks (None: it takes none) and its
    verifier, or why there is none (a secret not set here)."""

    kind: str
    webhooks: Webhooks | None
    accept: Verifier | None = None
    problem: str | None = None


class SourceCache:
    """Known sources' hooks for ``ttl`` seconds, at most ``size`` of them (LRU).

    Only sources that exist are kept: an unknown name is looked up in the database every time
    and forgotten, so random names in ``/hooks/<name>`` cost a query each and no memory that
    lasts (an unbounded dict keyed by the URL's name grew by 46 MB for 12,000 such POSTs).
    Thread-safe, for gunicorn's gthread workers.
    """

    def __init__(self, size: int = SOURCE_CACHE_SIZE, ttl: float = SOURCE_TTL) -> None:
        self.size = size
        self.ttl = ttl
        self._entries: OrderedDict[str, tuple[float, Hook]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str) -> Hook | None:
        """The cached hook, or None when it is not cached or its time is up."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._entries[name]
                return None
            self._entries.move_to_end(name)
            return entry[1]

    def put(self, name: str, hook: Hook) -> None:
        with self._lock:
            self._entries[name] = (time.monotonic() + self.ttl, hook)
            self._entries.move_to_end(name)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class Receiver:
    """The receiver's decision, free of any web framework: (source, headers, body) -> answer.

    One per web process. It is called by a thin WSGI layer in front of Flask
    (:class:`ReceiverMiddleware`): at thousands of deliveries a second, Flask's request and
    response machinery cost more than the verification and the INSERT together.
    """

    def __init__(self, context: Context, max_body: int) -> None:
        self.context = context
        self.max_body = max_body
        self.sources = SourceCache()
        # Keyed by stored deliveries' sources only, so by real sources: bounded like them.
        self._woken: dict[str, float] = {}

    def warm_up(self) -> None:
        """Look a source up once, so that the first deliveries under load do not pay for the
        first query (its SQL compiled, a pooled connection opened). Called by each serving
        thread as a web worker starts (service/web/gunicorn_conf.py); the database may well be
        down then, which is no error here."""
        with contextlib.suppress(Exception):
            source_settings(self.context.engine, "")

    def _hook(self, name: str) -> Hook | None:
        cached = self.sources.get(name)
        if cached is not None:
            return cached
        found = source_settings(self.context.engine, name)
        if found is None:
            return None  # not a source: nothing of the name is kept
        hook = self._build(name, *found)
        self.sources.put(name, hook)
        return hook

    def _build(self, name: str, kind: str, config: dict[str, Any]) -> Hook:
        try:
            found = platform(kind)
        except UnknownKind as exc:
            return Hook(kind, None, problem=str(exc))
        if found.webhooks is None:
            return Hook(kind, None)
        try:
            settings = found.settings(name, config, self.context.config.environ)
            return Hook(kind, found.webhooks, accept=found.webhooks.verifier(settings))
        except ConfigError as exc:
            return Hook(kind, found.webhooks, problem=str(exc))

    def _wake_inbox(self, source: str) -> None:
        now = time.monotonic()
        if now - self._woken.get(source, float("-inf")) < WAKE_WINDOW:
            return
        try:
            self.context.queue.enqueue(
                INBOX, "jobs.inbox.ingest_inbox", source, coalesce=f"ingest:{source}"
            )
            self._woken[source] = now
        except Exception as exc:  # Redis down: the delivery is stored; the sweeper enqueues it
            logger.warning(
                "source %s: enqueue failed (%s); the sweeper will pick it up", source, exc
            )

    def handle(
        self, source: str, headers: Mapping[str, str], body: bytes, key: str | None = None
    ) -> tuple[int, dict]:
        """The HTTP status and JSON answer for one delivery (see the module docstring)."""
        try:
            hook = self._hook(source)
        except (OperationalError, InterfaceError, PoolTimeout):
            DELIVERIES.labels(outcome="unavailable").inc()
            return 503, _error("Service Unavailable", "the database is unavailable")
        if hook is None:
            DELIVERIES.labels(outcome="unknown_source").inc()
            return 404, _error("Not Found", f"unknown source {source!r}")
        if hook.accept is None and hook.problem is None:
            return 404, _error(
                "Not Found", f"source {source!r} does not take webhooks (a {hook.kind} source)"
            )
        if hook.accept is None or hook.webhooks is None:
            # A configuration fault on our side: 500 makes the sender retry until it is fixed.
            logger.error("source %s: %s", source, hook.problem)
            return 500, _error(
                "Internal Server Error", "the source's secret is not configured on this server"
            )
        request = WebhookRequest(
            {h: headers.get(h) or "" for h in hook.webhooks.headers}, body, key
        )
        try:
            delivery_id = hook.accept(request)
        except WebhookRejected as exc:
            DELIVERIES.labels(outcome="rejected").inc()
            logger.warning("source %s: delivery refused (%s)", source, exc)
            return 401, _error("Unauthorized", str(exc))
        except WebhookMalformed as exc:
            DELIVERIES.labels(outcome="malformed").inc()
            return 400, _error("Bad Request", str(exc))
        if delivery_id is None:
            DELIVERIES.labels(outcome="ignored").inc()
            return 200, {"status": "ignored"}
        kept = {k: v for k in hook.webhooks.kept if (v := headers.get(k))}
        try:
            stored = self.context.inbox.store(source, delivery_id, body, kept)
        except DatabaseUnavailable:
            DELIVERIES.labels(outcome="unavailable").inc()
            logger.error("source %s: the database is unavailable; answered 503", source)
            return 503, _error("Service Unavailable", "the database is unavailable")
        except ValueError as exc:  # an id no text column takes (a NUL, a lone surrogate)
            DELIVERIES.labels(outcome="malformed").inc()
            return 400, _error("Bad Request", str(exc))
        if not stored:
            DELIVERIES.labels(outcome="duplicate").inc()
            return 200, {"status": "duplicate", "delivery": delivery_id}
        DELIVERIES.labels(outcome="stored").inc()
        self._wake_inbox(source)
        return 202, {"status": "accepted", "delivery": delivery_id}


def _error(name: str, message: str) -> dict:
    return {"error": name, "message": message}


class EnvironHeaders(Mapping[str, str]):
    """A WSGI request's headers by lower-case name, read from the environ only when asked."""

    def __init__(self, environ: dict) -> None:
        self.environ = environ

    @staticmethod
    def _key(name: str) -> str:
        upper = name.upper().replace("-", "_")
        return upper if upper in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + upper

    def __getitem__(self, name: str) -> str:
        return self.environ[self._key(name)]

    def __iter__(self) -> Iterator[str]:
        for key in self.environ:
            if key.startswith("HTTP_"):
                yield key[5:].lower().replace("_", "-")
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if key in self.environ:
                yield key.lower().replace("_", "-")

    def __len__(self) -> int:
        return sum(1 for _ in self)


class BodyTooSlow(Exception):
    """The body did not arrive within ``BODY_SECONDS`` (HTTP 408)."""


def read_body(environ: dict, limit: int, seconds: float = BODY_SECONDS) -> bytes | None:
    """The raw body, or None when it is over ``limit``; BodyTooSlow when it takes longer than
    ``seconds`` to arrive (under gunicorn, whose environ carries the socket)."""
    with WATCHDOG.guard(environ.get("gunicorn.socket"), seconds) as guard:
        body, complete = _read_body(environ, limit)
    if guard is not None and guard.expired and not complete:
        raise BodyTooSlow
    return body


def _read_body(environ: dict, limit: int) -> tuple[bytes | None, bool]:
    """(body or None when over ``limit``, whether it is known to be whole). A chunked body has no
    Content-Length: read one byte more than the limit and refuse it whole rather than cut it."""
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            size = int(length)
        except ValueError:
            size = limit + 1
        if size > limit:
            return None, True
        data = stream.read(size) if stream is not None and size else b""
        return data, len(data) == size
    data = b""
    while stream is not None and len(data) <= limit:
        chunk = stream.read(min(65536, limit + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    return (None if len(data) > limit else data), False


class ReceiverMiddleware:
    """WSGI layer in front of Flask that answers ``POST /hooks/<source>[/<key>]`` itself."""

    def __init__(self, wsgi_app: Any, receiver: Receiver) -> None:
        self.wsgi_app = wsgi_app
        self.receiver = receiver

    def __call__(self, environ: dict, start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith("/hooks/"):
            return self.wsgi_app(environ, start_response)
        source, slash, key = path[len("/hooks/") :].partition("/")
        if not source or "/" in key or (slash and not key):
            return self.wsgi_app(environ, start_response)
        try:
            body = read_body(environ, self.receiver.max_body)
        except BodyTooSlow:
            DELIVERIES.labels(outcome="too_slow").inc()
            payload = json.dumps(
                _error("Request Timeout", f"the body took over {BODY_SECONDS:.0f} s to arrive")
            ).encode("utf-8")
            start_response(
                "408 Request Timeout",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(payload))),
                    ("Connection", "close"),
                ],
            )
            return [payload]
        if body is None:
            limit = self.receiver.max_body
            status, answer = (
                413,
                _error("Request Entity Too Large", f"the body is over {limit} bytes"),
            )
        else:
            try:
                status, answer = self.receiver.handle(
                    source, EnvironHeaders(environ), body, key or None
                )
            except Exception:
                logger.exception("unhandled error in the webhook receiver")
                status, answer = (
                    500,
                    _error("Internal Server Error", "an unexpected error occurred"),
                )
        if from_a_browser(environ):
            payload, content_type = browser_page(status), "text/html; charset=utf-8"
        else:
            payload = json.dumps(answer, ensure_ascii=False).encode("utf-8")
            content_type = "application/json"
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [("Content-Type", content_type), ("Content-Length", str(len(payload)))],
        )
        return [payload]


def install(app: Flask, context: Context, max_body: int) -> Receiver:
    """Put the receiver in front of ``app``.

    The route is declared without a view: :class:`ReceiverMiddleware` answers every POST it
    matches before Flask sees it. Declared, Flask still answers other methods with 405,
    ``url_for("hooks.receive", source=…)`` builds a source's URL, and the URL map lists it.
    """
    receiver = Receiver(context, max_body)
    app.add_url_rule("/hooks/<source>", endpoint="hooks.receive", methods=["POST"])
    app.wsgi_app = ReceiverMiddleware(app.wsgi_app, receiver)  # type: ignore[method-assign]
    return receiver
