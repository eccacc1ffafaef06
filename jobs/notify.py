"""Notify job: make the attempt of one outbox event that is due, signed per Standard Webhooks.

At least once: an event stays pending until a 2xx answer; every attempt is logged with its
status or error and duration; failures back off on a named schedule and are given up (kept as
failed) after the last step.

One owner of the schedule: the database. An attempt is made only when the event is due
(``next_attempt_at``) and only by the job that claims it (``service.store.outbox.claim_attempt``),
so the emitter's first enqueue, the sweep's enqueues and RQ's own retries of a crashed job can
all run and still make one attempt per step of the schedule. This job never enqueues a retry:
after a failure it sets ``next_attempt_at`` and the scheduler's sweep (``jobs/schedule.py``)
enqueues the event when it is due.

The URL is judged again at each attempt by the address policy (``connectors.outgoing``): the
name is resolved once, every address checked, and the request sent to a checked address. The
secret is read by the variable name the subscription stores, through the job's configuration.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from connectors.base import ConnectorError
from connectors.outgoing import post_pinned
from connectors.signatures import sign_headers
from service.context import Context
from service.metrics import JOB_SECONDS
from service.store.engine import session_scope, utcnow
from service.store.outbox import Claim, claim_attempt, finish_attempt

logger = logging.getLogger(__name__)

# Seconds to wait after each failed attempt: quick retries for a blip, then minutes to hours for
# an endpoint that is down; after the last step the event is kept as failed.
BACKOFF: tuple[float, ...] = (10, 30, 120, 600, 1800, 3600, 6 * 3600)
TIMEOUT = (3.05, 10)  # connect, read
# A claimed attempt that has not finished after this long (its worker died) may be claimed
# again. Longer than the notify queue's job timeout (60 s), after which RQ kills the job.
LEASE = timedelta(seconds=120)

# The clock, one name so that tests can move time instead of waiting for it.
now: Callable[[], datetime] = utcnow


def deliver(event_id: int) -> str:
    """Make the event's due attempt; returns the event's status after it, or "skipped" when
    there was nothing to do (not due, delivered, failed, or another job has the attempt)."""
    started = time.perf_counter()
    ctx = Context.for_job()
    ctx.queue.clear_pending(f"notify:{event_id}")
    with session_scope(ctx.engine) as session:
        claim = claim_attempt(session, event_id, now(), LEASE)
    if claim is None:
        return "skipped"
    if claim.number > len(BACKOFF) + 1:
        # Earlier claims ended without an outcome (their workers died): the schedule is used up.
        status_code, error = None, "not sent: the last attempts ended without an outcome"
    else:
        status_code, error = _send(ctx, claim)
    finished = now()
    retry_at = None
    if error is not None and claim.number <= len(BACKOFF):
        retry_at = finished + timedelta(seconds=BACKOFF[claim.number - 1])
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    with session_scope(ctx.engine) as session:
        result = finish_attempt(session, claim, status_code, error, elapsed_ms, retry_at)
    logger.info(
        "event %s to subscription %d: attempt %d, %s",
        claim.event,
        claim.subscription.id,
        claim.number,
        error or "delivered",
    )
    JOB_SECONDS.labels(job="notify").observe(time.perf_counter() - started)
    return result


def _send(ctx: Context, claim: Claim) -> tuple[int | None, str | None]:
    """One POST of the event; (HTTP status or None, error or None). Errors name the cause,
    never the URL's query, the body or a header."""
    sub = claim.subscription
    if not sub.active:
        return None, "the subscription is inactive"
    secret = ctx.config.secret(sub.secret_env)
    if not secret:
        return None, f"the secret variable {sub.secret_env} is not set"
    body = json.dumps(claim.payload, ensure_ascii=False, separators=(",", ":")).encode()
    try:
        headers = sign_headers(secret, claim.message_id, int(time.time()), body)
        status = post_pinned(sub.url, body, headers, ctx.config.outgoing, timeout=TIMEOUT)
    except (ConnectorError, ValueError) as exc:
        return None, f"{exc.__class__.__name__}: {str(exc)[:300]}"
    return status, None if 200 <= status < 300 else f"HTTP {status}"
