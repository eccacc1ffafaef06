"""Redis + RQ queues (JSON serializer), enqueue by dotted name, and an inline mode for the CLI.

Redis is the queue, never the record: every job takes ids, is idempotent, and the database says
what is still to do (the sweeper re-enqueues it), so a job lost with Redis or with a killed
worker is only late, never lost. The web process enqueues by dotted name and never imports
``jobs/``.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

# Queues by purpose, so rendering a circular never holds up draining the inbox into ballots.
# Workers listen in this priority order (see the Procfile).
INBOX, RANKING, RENDER, NOTIFY, POLL = "inbox", "ranking", "render", "notify", "poll"
QUEUES = (INBOX, RANKING, RENDER, NOTIFY, POLL)

# Explicit timeouts: a stuck job must end, and be retried or swept, not hold a worker forever.
TIMEOUTS = {INBOX: 120, RANKING: 120, RENDER: 300, NOTIFY: 60, POLL: 300}
# Retry schedules, seconds between attempts. Work that touches the network (polling, outgoing
# webhooks) backs off longer; database-only work retries soon, as a restart usually fixes it.
RETRIES = {
    INBOX: [2, 10, 30],
    RANKING: [2, 10, 30],
    RENDER: [5, 30],
    NOTIFY: [10, 60, 300, 900],
    POLL: [30, 120],
}
# Coalescing flags (inbox per source, ranking per round) live this long at most, so a flag
# left behind by a crash can never block work for more than a few minutes.
PENDING_TTL = 300


# While a job runs inline (no Redis), the caller's configuration, so the job sees the same
# database as the process that enqueued it rather than whatever the environment says.
INLINE_CONFIG: ContextVar[Any] = ContextVar("pingyi_inline_config", default=None)


# The job modules each queue's jobs live in. A worker imports them once, before it forks a work
# horse per job: the horse then inherits them instead of importing pingyi, SQLAlchemy and (for
# rendering) WeasyPrint afresh for every job, which took about a second a job.
JOB_MODULES = {
    INBOX: ("jobs.inbox",),
    RANKING: ("jobs.rounds", "jobs.draw.ceremony"),
    RENDER: ("jobs.rounds", "jobs.circulars.render", "jobs.circulars.xlsx"),
    NOTIFY: ("jobs.notify",),
    POLL: ("jobs.poll",),
}


def preload(queues: list[str] | tuple[str, ...]) -> list[str]:
    """Import the job modules of ``queues`` (imports only: no connection is opened, so nothing
    is shared across the fork); the modules imported. A broken install fails here, at start."""
    names = list(dict.fromkeys(m for q in queues for m in JOB_MODULES.get(q, ())))
    for name in names:
        importlib.import_module(name)
    return names


def warm_up() -> None:
    """Import the queue clients now rather than on the first request that needs them."""
    import redis  # noqa: F401
    import rq
    import rq.job  # noqa: F401


def resolve(dotted: str) -> Callable[..., Any]:
    """``"jobs.inbox.ingest_inbox"`` -> the function (used by the inline mode)."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def job_id(*parts: str) -> str:
    """An RQ-safe job id (letters, digits, ``_`` and ``-`` only) derived from any text."""
    return "j-" + hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:32]


@dataclass
class Enqueued:
    """What an enqueue did: the job id (None when it ran inline) and whether it was coalesced."""

    id: str | None
    coalesced: bool = False


class JobQueue:
    """Enqueue jobs by dotted name on RQ, or run them at once when there is no Redis (CLI)."""

    def __init__(self, redis_url: str | None, config: Any = None) -> None:
        self.redis_url = redis_url
        self.config = config
        self._redis = None

    @property
    def inline(self) -> bool:
        return not self.redis_url

    @property
    def redis(self):
        if self._redis is None:
            from redis import Redis

            # Short timeouts: a web request must not hang on a sick Redis; the receiver still
            # answers 202 because the delivery is already in the database.
            self._redis = Redis.from_url(
                self.redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
            )
        return self._redis

    def queue(self, name: str):
        from rq import Queue

        return Queue(name, connection=self.redis, serializer="json", default_timeout=TIMEOUTS[name])

    def enqueue(
        self,
        queue: str,
        func: str,
        *args: Any,
        coalesce: str | None = None,
        job_id: str | None = None,
        delay: int | None = None,
    ) -> Enqueued:
        """Enqueue ``func(*args)`` on ``queue``.

        ``coalesce`` names a pending flag: while it is set, a second enqueue is skipped (the job
        clears the flag when it starts, then does all the work there is). Without Redis the job
        runs here and now.
        """
        if self.inline:
            token = INLINE_CONFIG.set(self.config)
            try:
                resolve(func)(*args)
            finally:
                INLINE_CONFIG.reset(token)
            return Enqueued(None)
        if coalesce is not None and not self.redis.set(
            f"pingyi:pending:{coalesce}", "1", nx=True, ex=PENDING_TTL
        ):
            return Enqueued(None, coalesced=True)
        from rq import Retry

        options: dict[str, Any] = {
            "retry": Retry(max=len(RETRIES[queue]), interval=RETRIES[queue]),
            "job_timeout": TIMEOUTS[queue],
            "result_ttl": 3600,
            "failure_ttl": 7 * 24 * 3600,
        }
        if job_id:
            options["job_id"] = job_id
        q = self.queue(queue)
        if delay:
            from datetime import timedelta

            job = q.enqueue_in(timedelta(seconds=delay), func, *args, **options)
        else:
            job = q.enqueue(func, *args, **options)
        return Enqueued(job.id)

    def clear_pending(self, coalesce: str) -> None:
        """Called by a coalesced job as it starts: later work needs a new job."""
        if not self.inline:
            self.redis.delete(f"pingyi:pending:{coalesce}")

    def ping(self) -> bool:
        if self.inline:
            return True
        try:
            return bool(self.redis.ping())
        except Exception:
            return False

    def depths(self) -> dict[str, int]:
        """Jobs waiting per queue (for /metrics and /api/v1/status)."""
        if self.inline:
            return dict.fromkeys(QUEUES, 0)
        return {name: self.queue(name).count for name in QUEUES}
