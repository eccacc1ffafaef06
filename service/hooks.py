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
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import select

from connectors.standard_webhooks import (
    KIND,
    StandardWebhooksConnector,
    WebhookRejected,
    is_ignored_event,
)
from service.inbox import DatabaseUnavailable
from service.metrics import DELIVERIES
from service.models import Source
from service.queue import INTAKE

logger = logging.getLogger(__name__)
hooks = Blueprint("hooks", __name__)

# Sources change rarely; a few seconds of caching saves a query on every delivery.
SOURCE_TTL = 5.0
# Headers worth keeping with a delivery (for audit and re-verification); never all of them.
KEPT_HEADERS = ("webhook-id", "webhook-timestamp", "content-type", "user-agent")


def _source(name: str) -> tuple[str, dict] | None:
    runtime = current_app.extensions["pingyi"]
    cache: dict[str, tuple[float, Any]] = current_app.extensions.setdefault("pingyi_sources", {})
    hit = cache.get(name)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    with runtime.engine.connect() as conn:
        row = conn.execute(select(Source.kind, Source.config).where(Source.name == name)).first()
    value = None if row is None else (row.kind, dict(row.config or {}))
    cache[name] = (now + SOURCE_TTL, value)
    return value


def _connector(name: str, kind: str, config: dict) -> StandardWebhooksConnector:
    if kind != KIND:
        abort(404, description=f"source {name!r} does not take webhooks (it is polled)")
    secret = os.environ.get(config.get("secret_env", ""))
    if not secret:
        # A configuration fault on our side: 500 makes the sender retry until it is fixed.
        logger.error("source %s: secret variable %s is not set", name, config.get("secret_env"))
        abort(500, description="the source's secret is not configured on this server")
    return StandardWebhooksConnector(name, secret)


def _body() -> bytes:
    """The raw body, at most 1 MiB. A chunked body has no Content-Length for Flask to check, and
    Werkzeug would silently cut it at the limit: read one byte more from the server's input
    stream and refuse it whole instead."""
    if request.content_length is not None:
        return request.get_data(cache=False)  # over the limit: Werkzeug answers 413
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    stream = request.environ.get("wsgi.input")
    data = b""
    while stream is not None and len(data) <= limit:
        chunk = stream.read(min(65536, limit + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    if len(data) > limit:
        abort(413, description=f"the body is over {limit} bytes")
    return data


# Within this window after this process last made sure an ingest job is on its way, a new
# delivery needs no Redis round trip: that job starts after the moment we checked, and it keeps
# looking for new deliveries for INGEST_LINGER seconds after the last ones (jobs/intake.py),
# which is longer than this window. Under load this saves one Redis call per delivery.
WAKE_WINDOW = 0.2


def _wake_ingest(runtime: Any, source: str) -> None:
    recent: dict[str, float] = current_app.extensions.setdefault("pingyi_woken", {})
    now = time.monotonic()
    if now - recent.get(source, float("-inf")) < WAKE_WINDOW:
        return
    try:
        runtime.queue.enqueue(
            INTAKE, "jobs.intake.ingest_inbox", source, coalesce=f"ingest:{source}"
        )
        recent[source] = now
    except Exception as exc:  # Redis down: the delivery is stored; the sweeper enqueues it
        logger.warning("source %s: enqueue failed (%s); the sweeper will pick it up", source, exc)


@hooks.post("/hooks/<source>")
def receive(source: str):
    body = _body()
    found = _source(source)
    if found is None:
        DELIVERIES.labels(outcome="unknown_source").inc()
        abort(404, description=f"unknown source {source!r}")
    connector = _connector(source, *found)
    try:
        delivery_id = connector.verify_webhook(request.headers, body)
    except (WebhookRejected, ValueError) as exc:
        DELIVERIES.labels(outcome="rejected").inc()
        logger.warning("source %s: delivery refused (%s)", source, exc)
        abort(401, description=str(exc))
    try:
        data = json.loads(body)
    except ValueError:
        DELIVERIES.labels(outcome="malformed").inc()
        abort(400, description="the body is not valid JSON")
    if is_ignored_event(data):
        DELIVERIES.labels(outcome="ignored").inc()
        return jsonify(status="ignored"), 200
    headers = {k: request.headers[k] for k in KEPT_HEADERS if k in request.headers}
    runtime = current_app.extensions["pingyi"]
    try:
        stored = runtime.inbox.store(source, delivery_id, body, headers)
    except DatabaseUnavailable:
        DELIVERIES.labels(outcome="unavailable").inc()
        logger.error("source %s: the database is unavailable; answered 503", source)
        abort(503, description="the database is unavailable")
    if not stored:
        DELIVERIES.labels(outcome="duplicate").inc()
        return jsonify(status="duplicate", delivery=delivery_id), 200
    DELIVERIES.labels(outcome="stored").inc()
    _wake_ingest(runtime, source)
    return jsonify(status="accepted", delivery=delivery_id), 202
