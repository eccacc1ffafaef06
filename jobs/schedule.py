"""The scheduler process: sweep the database for work that is owed, and poll sources on time.

Redis may lose jobs (a flush, a restart) and a worker may die mid-job; neither loses work,
because the database records what is left (pending deliveries, rankings asked for, circulars
owed, events due). Every few seconds this enqueues that work again; coalescing flags and
idempotent jobs make a duplicate harmless.

For outgoing events the sweep is the only thing that enqueues a retry: the notify job records a
failed attempt and the time the next one is due, and the sweep enqueues the event once that time
has come. The notify job claims the attempt in the database, so an event enqueued twice (by the
sweep and by the change that emitted it, say) still gets one attempt.
"""

from __future__ import annotations

import logging
import time

from service.context import Context
from service.queue import INBOX, NOTIFY, RANKING, RENDER
from service.store.engine import session_scope
from service.store.work import owed

logger = logging.getLogger(__name__)

INTERVAL = 5.0  # seconds between sweeps


def sweep(ctx: Context | None = None, grace: float = 5.0) -> dict[str, int]:
    """Enqueue everything the database says is owed; returns how many of each."""
    ctx = ctx or Context.for_job()
    with session_scope(ctx.engine) as session:
        work = owed(session, grace)
    q = ctx.queue
    for source in work["sources"]:
        q.enqueue(INBOX, "jobs.inbox.ingest_inbox", source, coalesce=f"ingest:{source}")
    for round_id in work["rankings"]:
        q.enqueue(RANKING, "jobs.rounds.rank_round_job", round_id, coalesce=f"rank:{round_id}")
    for round_id in work["renders"]:
        q.enqueue(
            RENDER, "jobs.rounds.render_circular_job", round_id, coalesce=f"render:{round_id}"
        )
    for event_id in work["events"]:
        q.enqueue(NOTIFY, "jobs.notify.deliver", event_id, coalesce=f"notify:{event_id}")
    counts = {k: len(v) for k, v in work.items()}
    if any(counts.values()):
        logger.info("sweep: %s", counts)
    return counts


def run_scheduler(interval: float = INTERVAL, once: bool = False) -> None:
    """The ``scheduler`` process of the Procfile: one of it runs, it only enqueues."""
    ctx = Context.for_job()
    while True:
        try:
            sweep(ctx)
            _poll_due(ctx)
        except Exception:
            logger.exception("sweep failed; trying again in %.0f s", interval)
        if once:
            return
        time.sleep(interval)


def _poll_due(ctx: Context) -> None:
    """Enqueue polls of sources whose interval has passed (the poll job decides per source)."""
    try:
        from jobs.poll import due_sources
    except ImportError:  # polling connectors not installed in this build
        return
    with session_scope(ctx.engine) as session:
        names = due_sources(session)
    for name in names:
        ctx.queue.enqueue("poll", "jobs.poll.poll_source_job", name, coalesce=f"poll:{name}")
