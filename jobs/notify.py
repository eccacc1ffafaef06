"""Notify job: deliver one outbox event to its subscriber, signed per Standard Webhooks.

At least once: an event stays pending until a 2xx answer; every attempt is logged with its
status or error and duration; failures back off on a named schedule and are given up (kept as
failed) after the last step. The URL is checked again before each attempt, and the secret is read
by the variable name the subscription stores, through the job's configuration.
"""

from __future__ import annotations

import json
import logging
import time

import requests

from connectors.signatures import sign_headers
from service.context import Context
from service.metrics import JOB_SECONDS
from service.queue import NOTIFY
from service.store.engine import StoreError, session_scope
from service.store.outbox import pending_event, record_attempt
from service.store.subscriptions import check_url

logger = logging.getLogger(__name__)

# Seconds to wait after each failed attempt: quick retries for a blip, then minutes to hours for
# an endpoint that is down; after the last step the event is kept as failed.
BACKOFF = (10, 30, 120, 600, 1800, 3600, 6 * 3600)
TIMEOUT = (3.05, 10)  # connect, read


def deliver(event_id: int) -> str:
    """One delivery attempt of an outbox event; returns its resulting status."""
    started = time.perf_counter()
    ctx = Context.for_job()
    ctx.queue.clear_pending(f"notify:{event_id}")
    with session_scope(ctx.engine) as session:
        found = pending_event(session, event_id)
        if found is None:
            return "skipped"
        event, sub = found
        secret = ctx.config.secret(sub.secret_env)
        body = json.dumps(event.payload, ensure_ascii=False, separators=(",", ":")).encode()
        status_code, error = None, None
        try:
            if not sub.active:
                raise StoreError("the subscription is inactive")
            if not secret:
                raise StoreError(f"the secret variable {sub.secret_env} is not set")
            check_url(sub.url)
            headers = sign_headers(secret, event.message_id, int(time.time()), body)
            response = requests.post(
                sub.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
            )
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except (requests.RequestException, StoreError, ValueError) as exc:
            error = f"{exc.__class__.__name__}: {str(exc)[:300]}"
        elapsed = time.perf_counter() - started
        # The attempt about to be logged is number event.attempts + 1.
        retry_in = None
        if error is not None and event.attempts < len(BACKOFF):
            retry_in = BACKOFF[event.attempts]
        record_attempt(session, event, status_code, error, int(elapsed * 1000), retry_in)
        result = event.status
        logger.info(
            "event %s to subscription %d: attempt %d, %s",
            event.event,
            sub.id,
            event.attempts,
            error or "delivered",
        )
    if retry_in is not None:
        ctx.queue.enqueue(NOTIFY, "jobs.notify.deliver", event_id, delay=retry_in)
    JOB_SECONDS.labels(job="notify").observe(time.perf_counter() - started)
    return result
