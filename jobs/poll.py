"""Poll job: a source's new records become stored ballots, and its cursor moves with them.

Runs in-process for ``pingyi poll`` (no Redis) and, by name, in the service's scheduler. The
network work happens outside any transaction; each page is then stored *and* the source's cursor
moved in one transaction, so a page that fails to store leaves the cursor where it was and the
next poll reads the same records again (the store is idempotent on source and response id).
A failed poll is remembered on the source (``last_error``) for ``source list`` and the status page.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from connectors.base import ConfigError, ConnectorError
from connectors.registry import platform, polled_kinds
from jobs.errors import describe_error
from jobs.ingest import ingest_records, with_seat_tokens
from service.rules import Rules
from service.store.ballots import status_counts
from service.store.engine import StoreError, session_scope, utcnow
from service.store.rounds import find_round, list_rounds
from service.store.sources import (
    get_source,
    list_sources,
    record_poll_error,
    round_seats,
    save_cursor,
)
from service.store.work import closed_at

logger = logging.getLogger(__name__)

# Errors a poll reports and records on the source; anything else is a bug and propagates.
EXPECTED = (ConnectorError, StoreError, ValueError, OSError)
MAX_PAGES = 1000


class PollFailed(RuntimeError):
    """A poll the database stopped; its message is ``describe_error``'s, never the driver's."""


# a connector that never says "done" must not loop for ever


@dataclass
class PollResult:
    """What one poll of one source did."""

    source: str
    round_id: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    statuses: Counter = field(default_factory=Counter)  # of the new and updated ballots
    pages: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    skipped: str | None = None  # why the poll did not run (a routine poll of a closed round)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "round": self.round_id,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.statuses.get("rejected", 0),
            "accepted": self.statuses.get("accepted", 0),
            "superseded": self.statuses.get("superseded", 0),
            "invalid": self.statuses.get("invalid", 0),
            "error": self.error,
            "skipped": self.skipped,
        }


def poll_source(
    engine: Engine,
    name: str,
    rules: Rules,
    environ: Mapping[str, str],
    full: bool = False,
    received_at: datetime | None = None,
    **connector_options: Any,
) -> PollResult:
    """Poll source ``name`` until its connector is done; never raises for an expected failure
    (a secret that is not set is one: the source fails alone, naming the variable).

    ``environ`` holds the secrets, by the variable names the source stores (the caller's
    ``Config.environ``); ``connector_options`` go to the platform's poller (tests pass a retry
    policy or a clock).
    """
    # What a poll brings was on the platform when the poll began: a round closed while the
    # poll was running must not reject it for pingyi's own delay in storing it.
    received_at = received_at or utcnow()
    with session_scope(engine) as session:
        source = get_source(session, name)
        kind, round_id = source.kind, source.round_id
        config, mapping, cursor = source.config, source.mapping, source.cursor
    result = PollResult(name, round_id)
    poller = None
    try:
        found = platform(kind)
        if found.polling is None:
            raise ConfigError(f"source {name!r} is a {kind} source: it is pushed, not polled")
        settings = found.settings(name, dict(config or {}), environ, mapping)
        poller = found.polling.open(settings, **connector_options)
        for number in range(1, MAX_PAGES + 1):
            page = poller.poll(cursor, full=full and number == 1)
            with session_scope(engine) as session:
                records = page.records
                if records and found.platform_token is not None:
                    tokens = [s.token for s in round_seats(session, round_id)]
                    records = with_seat_tokens(records, tokens, found.platform_token)
                if records:
                    counts, _ = ingest_records(
                        session, round_id, name, records, rules, received_at=received_at
                    )
                    result.new += counts.new
                    result.updated += counts.updated
                    result.unchanged += counts.unchanged
                    if counts.changed_ids:
                        result.statuses += status_counts(session, round_id, counts.changed_ids)
                save_cursor(session, get_source(session, name), page.cursor)
            cursor = page.cursor
            result.pages = number
            if page.done:
                break
        else:
            raise ConnectorError(f"{kind} did not finish within {MAX_PAGES} pages")
    except EXPECTED as exc:
        result.error = str(exc) or type(exc).__name__
        logger.warning("poll of source %s (round %s) failed: %s", name, round_id, result.error)
        with session_scope(engine) as session:
            record_poll_error(session, name, result.error)
    except SQLAlchemyError as exc:
        # The database refused or went away mid-poll: the cursor did not move, so the next poll
        # reads the same page again. The driver's text may quote a ballot, so only its
        # description is logged, kept and passed on (RQ keeps what a job raises).
        result.error = describe_error(exc)
        logger.warning("poll of source %s (round %s) failed: %s", name, round_id, result.error)
        try:
            with session_scope(engine) as session:
                record_poll_error(session, name, result.error)
        except SQLAlchemyError:
            pass  # still down: the log line above is the record
        raise PollFailed(f"poll of source {name!r} failed: {result.error}") from None
    finally:
        if poller is not None:
            poller.close()
            result.calls = dict(poller.calls)
    logger.info(
        "polled source %s (round %s): %d new, %d updated, %d unchanged, %d rejected",
        name,
        round_id,
        result.new,
        result.updated,
        result.unchanged,
        result.statuses.get("rejected", 0),
    )
    return result


# How often the scheduler polls each source; webhooks (where a platform has them) are faster, and
# polling is what reconciles the deliveries a platform gave up on.
POLL_INTERVAL = 300


def due_sources(session: Session, interval: float = POLL_INTERVAL) -> list[str]:
    """Polled sources of open rounds whose last poll is older than ``interval`` seconds (or
    never happened). A closed round's sources are polled once more by its close job, with the
    close time as the time of receipt; a routine poll after the close would store what it
    brings as late."""
    cutoff = utcnow() - timedelta(seconds=interval)
    closed = {r.id for r in list_rounds(session, status="closed")}
    return [
        s.name
        for s in list_sources(session)
        if s.kind in polled_kinds()
        and s.round_id not in closed
        and (s.last_poll_at is None or s.last_poll_at < cutoff)
    ]


def poll_source_job(name: str, received_at: str | None = None) -> dict:
    """The scheduler's poll of one source, in a worker; then a ranking is asked for.

    ``received_at`` (ISO) is set by a round's close job: what that last poll brings was there
    when the round closed, so it still counts.

    A routine poll (no ``received_at``) of a round that is closed by the time it runs does
    nothing: the scheduler enqueued it while the round was open, and what it would bring now
    would be stored as received after the close, so rejected, although the close job's own poll
    takes it in as of the close. (It happened: a poll waiting behind the inbox's jobs ran just
    after ``POST …/close`` and rejected three ballots the close would have counted.)

    The scheduler's pending flag is cleared when the poll is over, not when it starts: the
    scheduler sees a source as due until its first page is stored, and a flag cleared at the
    start let it enqueue the same poll again meanwhile.
    """
    from service.context import Context
    from service.queue import RANKING
    from service.store.work import request_ranking

    ctx = Context.for_job()
    try:
        with session_scope(ctx.engine) as session:
            round_id = get_source(session, name).round_id
            closed = closed_at(session, find_round(session, round_id))
        if received_at is None and closed is not None:
            logger.info(
                "round %s of source %s closed before this poll ran; its close job polled it",
                round_id,
                name,
            )
            return PollResult(name, round_id, skipped="the round is closed").as_dict()
        at = datetime.fromisoformat(received_at) if received_at else None
        result = poll_source(ctx.engine, name, ctx.config.rules, ctx.config.environ, received_at=at)
    finally:
        ctx.queue.clear_pending(f"poll:{name}")
    if result.new or result.updated:
        with session_scope(ctx.engine) as session:
            request_ranking(session, round_id)
        if at is None:
            ctx.queue.enqueue(
                RANKING, "jobs.rounds.rank_round_job", round_id, coalesce=f"rank:{round_id}"
            )
    return result.as_dict()
