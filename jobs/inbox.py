"""Inbox job: a source's pending deliveries become ballots, exactly once in effect.

Each delivery is parsed by its source's platform (asked of the registry), as the receiver stored
it: the raw body and the headers the platform keeps.

One transaction per batch: the ballots are stored and the deliveries marked done together, so a
worker killed mid-batch leaves every delivery pending (nothing half-done), and running the job
again is harmless because the ballot store is idempotent on (source, response id). On
PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets two workers drain one source without treading on
each other.

A delivery is a ballot: a seat's token and its answers. No error this job logs, stores in
``inbox.error`` or hands to RQ carries one: the driver's own messages quote the values of a
failing row ("Failing row contains (…)", "Key (token)=(…)"), so an exception is described by its
class, its SQLSTATE and the constraint, table and column it names (``describe_error``), and the
job's own failure is raised anew without the exception chain.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from sqlalchemy.orm import Session

from connectors.base import ConfigError, Delivery, Platform, SourceSettings
from connectors.registry import platform
from jobs.errors import describe_error
from jobs.ingest import ingest_records, with_seat_tokens
from service.context import Context
from service.metrics import INBOX_FAILURES, JOB_SECONDS
from service.models.inbox import InboxDelivery
from service.models.sources import Source
from service.queue import NOTIFY, RANKING
from service.store.ballots import accepted_responses
from service.store.engine import as_utc, session_scope
from service.store.inbox import (
    get_delivery,
    has_pending,
    mark_done,
    pending_deliveries,
    record_failure,
)
from service.store.outbox import emit
from service.store.rounds import get_round
from service.store.sources import find_source, get_source, round_seats
from service.store.work import closed_at, request_ranking

logger = logging.getLogger(__name__)

# A delivery that keeps failing is parked as failed (kept, with its error) after this many tries.
MAX_ATTEMPTS = 5


class IngestFailed(RuntimeError):
    """The ingest job failed; its message is ``describe_error``'s, never the driver's."""


def _parser(ctx: Context, source: Source) -> tuple[Platform, SourceSettings]:
    """The source's platform and settings (secrets read through the job's config), or
    ConfigError when the source's kind takes no webhooks (its deliveries are then kept, failed)."""
    found = platform(source.kind)
    if found.webhooks is None:
        raise ConfigError(f"source {source.name}: a {source.kind} source takes no webhooks")
    settings = found.settings(
        source.name, dict(source.config or {}), ctx.config.environ, source.mapping
    )
    return found, settings


def _process(session: Session, ctx: Context, source: Source, rows: list[InboxDelivery]) -> dict:
    """Ingest a batch; deliveries received before the round's close are judged as of their
    arrival, so a close never throws away what was already in the inbox."""
    found, settings = _parser(ctx, source)
    closed = closed_at(session, get_round(session, source.round_id))
    groups = [[r for r in rows if closed is None or as_utc(r.received_at) <= closed]]
    groups.append([r for r in rows if r not in groups[0]])
    statuses: Counter = Counter()
    ballot_ids: list[int] = []
    records_n = 0
    for group in groups:
        if not group:
            continue
        records = []
        for row in group:
            row.attempts += 1
            delivery = Delivery(row.delivery_id, dict(row.headers or {}), row.body)
            records += found.webhooks.parse(settings, delivery)
        if found.platform_token is not None and records:
            tokens = [s.token for s in round_seats(session, source.round_id)]
            records = with_seat_tokens(records, tokens, found.platform_token)
        records_n += len(records)
        counts, got = ingest_records(
            session,
            source.round_id,
            source.name,
            records,
            ctx.config.rules,
            received_at=max(as_utc(r.received_at) for r in group),
        )
        statuses.update(got)
        ballot_ids += counts.ballot_ids
    mark_done(rows)
    if any(statuses.get(k) for k in ("accepted", "superseded", "invalid")):
        # Only ballots that can count change a ranking; a batch of rejected ones does not.
        request_ranking(session, source.round_id)
    accepted = accepted_responses(session, ballot_ids)
    outbox = emit(
        session,
        "ballot.accepted",
        [
            {"round": source.round_id, "source": source.name, "response_id": rid, "version": v}
            for rid, v in accepted
        ],
    )
    return {"deliveries": len(rows), "records": records_n, "outbox": outbox, **statuses}


def _isolate_failure(ctx: Context, source_name: str, rows: list[int]) -> None:
    """After a batch failed: run its deliveries one by one, parking the one that fails."""
    for delivery_id in rows:
        try:
            with session_scope(ctx.engine) as session:
                source = get_source(session, source_name)
                row = get_delivery(session, delivery_id)
                if row is not None and row.status == "pending":
                    _process(session, ctx, source, [row])
        except Exception as exc:
            error = describe_error(exc)
            logger.warning("source %s: delivery %d failed: %s", source_name, delivery_id, error)
            with session_scope(ctx.engine) as session:
                parked = record_failure(session, delivery_id, error, MAX_ATTEMPTS)
            INBOX_FAILURES.labels(outcome="failed" if parked else "retried").inc()


# After draining, a job keeps looking for new deliveries this long (see WAKE_WINDOW in
# service/web/receiver.py, which must stay shorter): a web process that skipped waking a job relies
# on the running one to see its delivery.
INGEST_LINGER = 0.5
LINGER_STEP = 0.025


def _more_arrive(ctx: Context, source_name: str) -> bool:
    """Wait up to INGEST_LINGER for a new pending delivery of the source."""
    deadline = time.monotonic() + INGEST_LINGER
    while time.monotonic() < deadline:
        time.sleep(LINGER_STEP)
        if has_pending(ctx.engine, source_name):
            return True
    return False


def ingest_inbox(source_name: str) -> dict:
    """Drain the source's pending deliveries; then ask for a ranking and send the events.

    Any failure leaves as ``IngestFailed`` with a described cause and no exception chain, since
    RQ logs and keeps the whole traceback text of a failed job."""
    try:
        return _ingest_inbox(source_name)
    except Exception as exc:
        raise IngestFailed(f"ingest of source {source_name}: {describe_error(exc)}") from None


def _ingest_inbox(source_name: str) -> dict:
    started = time.perf_counter()
    ctx = Context.for_job()
    ctx.queue.clear_pending(f"ingest:{source_name}")
    totals: Counter = Counter()
    round_id = None
    while True:
        ids: list[int] = []
        try:
            with session_scope(ctx.engine) as session:
                source = find_source(session, source_name)
                if source is None:
                    logger.warning("ingest: unknown source %s", source_name)
                    return {}
                round_id = source.round_id
                rows = pending_deliveries(session, source_name, ctx.config.ingest_batch)
                ids = [r.id for r in rows]
                if not rows:
                    break
                result = _process(session, ctx, source, rows)
        except Exception as exc:
            if not ids:
                raise
            logger.warning(
                "source %s: batch of %d failed (%s); one by one now",
                source_name,
                len(ids),
                describe_error(exc),
            )
            _isolate_failure(ctx, source_name, ids)
            continue
        for event_id in result.pop("outbox"):
            ctx.queue.enqueue(NOTIFY, "jobs.notify.deliver", event_id)
        totals.update({k: v for k, v in result.items() if isinstance(v, int)})
        if len(ids) < ctx.config.ingest_batch and not _more_arrive(ctx, source_name):
            break
    if totals and round_id:
        ctx.queue.enqueue(
            RANKING, "jobs.rounds.rank_round_job", round_id, coalesce=f"rank:{round_id}"
        )
    JOB_SECONDS.labels(job="ingest").observe(time.perf_counter() - started)
    logger.info("ingest %s: %s", source_name, dict(totals))
    return dict(totals)
