"""Webhook intake: ``POST /hooks/<source>`` — verify the raw body, store it, answer 202.

The delivery is written to the inbox in one short transaction *before* it is acknowledged, and
the ingest job is enqueued only after that commit. So a 202 means the delivery is in the
database; if Redis or a worker loses the job, the sweeper finds the pending row. Answers:
202 stored · 200 duplicate or an event the source ignores · 400 malformed JSON · 401 forged or
stale · 404 unknown source · 413 body over 1 MiB · 503 database down (the platform retries).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from connectors.standard_webhooks.connector import (
    KIND,
    StandardWebhooksConnector,
    WebhookRejected,
    is_ignored_event,
)
from service.context import Context
from service.metrics import DELIVERIES
from service.models.sources import Source
from service.queue import INTAKE
from service.store.inbox import DatabaseUnavailable

logger = logging.getLogger(__name__)
hooks = Blueprint("hooks", __name__)

# Sources change rarely; a few seconds of caching saves a query on every delivery.
SOURCE_TTL = 5.0
# Headers worth keeping with a delivery (for audit and re-verification); never all of them.
KEPT_HEADERS = ("webhook-id", "webhook-timestamp", "content-type", "user-agent")
VERIFY_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
# Within this window after this process last made sure an ingest job is on its way, a new
# delivery needs no Redis round trip: that job starts after the moment we checked, and it keeps
# looking for new deliveries for INGEST_LINGER seconds after the last ones (jobs/intake.py),
# which is longer than this window. Under load this saves one Redis call per delivery.
WAKE_WINDOW = 0.2


class Intake:
    """The intake decision, free of any web framework: (source, headers, body) -> answer.

    One per web process (on the app's Context). It is called by a thin WSGI layer in front of
    Flask (``IntakeMiddleware``): at thousands of deliveries a second, Flask's request and
    response machinery cost more than the verification and the INSERT together.
    """

    def __init__(self, context: Context, max_body: int) -> None:
        self.context = context
        self.max_body = max_body
        self._sources: dict[str, tuple[float, Any]] = {}
        self._woken: dict[str, float] = {}

    def _source(self, name: str) -> tuple[str, dict] | None:
        hit = self._sources.get(name)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        with self.context.engine.connect() as conn:
            row = conn.execute(
                select(Source.kind, Source.config).where(Source.name == name)
            ).first()
        value = None if row is None else (row.kind, dict(row.config or {}))
        self._sources[name] = (now + SOURCE_TTL, value)
        return value

    def _wake_ingest(self, source: str) -> None:
        now = time.monotonic()
        if now - self._woken.get(source, float("-inf")) < WAKE_WINDOW:
            return
        try:
            self.context.queue.enqueue(
                INTAKE, "jobs.inbox.ingest_inbox", source, coalesce=f"ingest:{source}"
            )
            self._woken[source] = now
        except Exception as exc:  # Redis down: the delivery is stored; the sweeper enqueues it
            logger.warning(
                "source %s: enqueue failed (%s); the sweeper will pick it up", source, exc
            )

    def handle(self, source: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict]:
        """The HTTP status and JSON answer for one delivery (see the module docstring)."""
        try:
            found = self._source(source)
        except (OperationalError, InterfaceError, PoolTimeout):
            DELIVERIES.labels(outcome="unavailable").inc()
            return 503, _error("Service Unavailable", "the database is unavailable")
        if found is None:
            DELIVERIES.labels(outcome="unknown_source").inc()
            return 404, _error("Not Found", f"unknown source {source!r}")
        kind, config = found
        if kind != KIND:
            return 404, _error(
                "Not Found", f"source {source!r} does not take webhooks (it is polled)"
            )
        secret = os.environ.get(config.get("secret_env", ""))
        if not secret:
            # A configuration fault on our side: 500 makes the sender retry until it is fixed.
            logger.error(
                "source %s: secret variable %s is not set", source, config.get("secret_env")
            )
            return 500, _error(
                "Internal Server Error", "the source's secret is not configured on this server"
            )
        try:
            delivery_id = StandardWebhooksConnector(source, secret).verify_webhook(headers, body)
        except (WebhookRejected, ValueError) as exc:
            DELIVERIES.labels(outcome="rejected").inc()
            logger.warning("source %s: delivery refused (%s)", source, exc)
            return 401, _error("Unauthorized", str(exc))
        try:
            data = json.loads(body)
        except ValueError:
            DELIVERIES.labels(outcome="malformed").inc()
            return 400, _error("Bad Request", "the body is not valid JSON")
        if is_ignored_event(data):
            DELIVERIES.labels(outcome="ignored").inc()
            return 200, {"status": "ignored"}
        kept = {k: headers[k] for k in KEPT_HEADERS if headers.get(k)}
        try:
            stored = self.context.inbox.store(source, delivery_id, body, kept)
        except DatabaseUnavailable:
            DELIVERIES.labels(outcome="unavailable").inc()
            logger.error("source %s: the database is unavailable; answered 503", source)
            return 503, _error("Service Unavailable", "the database is unavailable")
        if not stored:
            DELIVERIES.labels(outcome="duplicate").inc()
            return 200, {"status": "duplicate", "delivery": delivery_id}
        DELIVERIES.labels(outcome="stored").inc()
        self._wake_ingest(source)
        return 202, {"status": "accepted", "delivery": delivery_id}


def _error(name: str, message: str) -> dict:
    return {"error": name, "message": message}


def read_body(environ: dict, limit: int) -> bytes | None:
    """The raw body, or None when it is over ``limit``. A chunked body has no Content-Length:
    read one byte more than the limit and refuse it whole rather than cut it."""
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            size = int(length)
        except ValueError:
            size = limit + 1
        if size > limit:
            return None
        return stream.read(size) if stream is not None and size else b""
    data = b""
    while stream is not None and len(data) <= limit:
        chunk = stream.read(min(65536, limit + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    return None if len(data) > limit else data


class IntakeMiddleware:
    """WSGI layer in front of Flask that answers ``POST /hooks/<source>`` itself."""

    def __init__(self, wsgi_app: Any, intake: Intake) -> None:
        self.wsgi_app = wsgi_app
        self.intake = intake

    def __call__(self, environ: dict, start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith("/hooks/"):
            return self.wsgi_app(environ, start_response)
        source = path[len("/hooks/") :]
        if not source or "/" in source:
            return self.wsgi_app(environ, start_response)
        body = read_body(environ, self.intake.max_body)
        if body is None:
            status, answer = (
                413,
                _error(
                    "Request Entity Too Large", f"the body is over {self.intake.max_body} bytes"
                ),
            )
        else:
            headers = {
                name: environ.get("HTTP_" + name.upper().replace("-", "_"), "")
                for name in (*VERIFY_HEADERS, "user-agent")
            }
            headers["content-type"] = environ.get("CONTENT_TYPE", "")
            try:
                status, answer = self.intake.handle(source, headers, body)
            except Exception:
                logger.exception("unhandled error in webhook intake")
                status, answer = (
                    500,
                    _error("Internal Server Error", "an unexpected error occurred"),
                )
        payload = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]


@hooks.post("/hooks/<source>")
def receive(source: str):
    """The same intake as a Flask view (for apps built without the middleware)."""
    intake: Intake = current_app.extensions["pingyi_intake"]
    body = read_body(request.environ, intake.max_body)
    if body is None:
        abort(413, description=f"the body is over {intake.max_body} bytes")
    status, answer = intake.handle(source, request.headers, body)
    return jsonify(answer), status
