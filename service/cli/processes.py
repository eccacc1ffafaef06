"""The Procfile's long-running processes ride out their dependencies (docs/service.md, Processes).

honcho, which runs the Procfile under ``make serve``, stops every process as soon as one of them
exits. ``rq worker`` exits when Redis goes away while it is busy with a job (its work loop
breaks on any error outside the wait for the next job), so a few seconds without Redis used to
stop the web process too. Here a worker whose loop ends without a stop request is tidied up
and started again after a capped, jittered exponential backoff, for as long as it takes; only
SIGTERM or SIGINT end it. The work itself is never at risk: the database records what is owed
and the scheduler's sweep enqueues it again (``jobs/schedule.py``).
"""

from __future__ import annotations

import contextlib
import logging
import random
import signal
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Worker, worker_registration
from sqlalchemy.exc import InterfaceError, OperationalError

logger = logging.getLogger("pingyi.processes")

# What "a dependency is away" looks like; anything else is a bug and keeps its traceback.
OUTAGES: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OperationalError,
    InterfaceError,
)
# A worker that ran this long before its loop ended was healthy: the next failure starts the
# backoff from the beginning again.
HEALTHY_AFTER = 60.0


class Backoff:
    """Capped exponential backoff with jitter: ``base·2ⁿ`` seconds, at most ``cap``, each delay
    drawn in its upper half, so that processes that lost Redis together do not all come back in
    the same instant, yet none waits much less than the schedule says."""

    def __init__(
        self, base: float = 0.5, cap: float = 30.0, rng: Callable[[], float] = random.random
    ) -> None:
        self.base, self.cap, self.rng = base, cap, rng
        self.failures = 0

    def next(self) -> float:
        ceiling = min(self.cap, self.base * 2**self.failures)
        self.failures += 1
        return ceiling / 2 + self.rng() * ceiling / 2

    def reset(self) -> None:
        self.failures = 0


def outage(exc: BaseException) -> str:
    """One line naming an outage: the error's class and the first line of its message (a
    database error's statement and parameters never appear; docs/service.md)."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0][:200]
    return f"{type(cause).__name__}: {first}" if first else type(cause).__name__


class OneLineOutages(logging.Filter):
    """Logs an outage as one line, without the traceback RQ and the sweep attach to it: while
    Redis is away a traceback every few seconds buries everything else in the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and isinstance(exc, OUTAGES):
            record.msg = f"{record.msg} ({outage(exc)})"
            record.exc_info, record.exc_text = None, None
        return True


class Stopping(BaseException):
    """Raised by SIGTERM or SIGINT while RQ's own handlers are not installed (a start-up, a
    backoff sleep); a BaseException, so that nothing on the way mistakes it for an error."""


class StopSignals:
    """SIGTERM and SIGINT outside RQ's work loop: remember, and stop what is going on."""

    asked = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.asked = True
        raise Stopping(signum)


class RidingWorker(Worker):
    """RQ's forking worker that remembers it was asked to stop, so that the end of its loop
    tells a shutdown (exit) from a failure (start again), and that registers itself again when
    Redis comes back without its data."""

    stop_asked = False
    # RQ's own wait between reconnections while idle doubles up to 60 s; ours stops at 30 s.
    max_connection_wait_time = 30.0

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_asked = True
        super().request_stop(signum, frame)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """RQ's heartbeat; then, if Redis has forgotten this worker (it restarted empty while
        the worker waited for a job, reconnecting), register it again: otherwise it works on
        but is missing from ``/api/v1/status`` and from RQ's own list of workers."""
        super().heartbeat(timeout, pipeline)
        if pipeline is not None or self.connection.sismember(self.redis_workers_keys, self.key):
            return
        with self.connection.pipeline() as again:
            again.hset(self.key, mapping=self.serialize())
            worker_registration.register(self, again)
            again.expire(self.key, timeout or self.worker_ttl + 60)
            again.execute()
        self.log.info("Worker %s: registered again (Redis had lost it)", self.name)


def _tidy(worker: RidingWorker) -> None:
    """What RQ's teardown leaves behind when Redis is away: a work horse still running the job
    it was given (killed: its transaction rolls back and the sweep enqueues the work again), the
    scheduler process and the pubsub thread."""
    if worker.horse_pid:
        with contextlib.suppress(Exception):
            worker.kill_horse()
            worker.wait_for_horse()
    if worker.scheduler is not None:
        with contextlib.suppress(Exception):
            worker.stop_scheduler()
    thread = getattr(worker, "pubsub_thread", None)
    if thread is not None:
        with contextlib.suppress(Exception):
            thread.stop()
            thread.join(timeout=1)
        with contextlib.suppress(Exception):
            worker.pubsub.close()


def run_worker(
    redis_url: str,
    queues: Sequence[str],
    maintenance_interval: int = 60,
    backoff: Backoff | None = None,
    sleep: Callable[[float], Any] = time.sleep,
) -> None:
    """Work ``queues`` until SIGTERM/SIGINT, whatever Redis does meanwhile."""
    with contextlib.suppress(Stopping):  # a signal in the middle of tidying up: we are done
        _run_worker(redis_url, queues, maintenance_interval, backoff or Backoff(), sleep)


def _run_worker(
    redis_url: str,
    queues: Sequence[str],
    maintenance_interval: int,
    backoff: Backoff,
    sleep: Callable[[float], Any],
) -> None:
    from service.queue import preload

    preload(list(queues))
    stop = StopSignals()
    for name in ("rq.worker", "rq.scheduler"):
        logging.getLogger(name).addFilter(OneLineOutages())
    dead: RidingWorker | None = None
    while not stop.asked:
        stop.install()
        worker: RidingWorker | None = None
        started = time.monotonic()
        reason = "its loop ended (see RQ's line above)"
        try:
            if dead is not None:  # its death could not be recorded while Redis was away
                with contextlib.suppress(*OUTAGES):
                    dead.register_death()
                dead = None
            # A short connect timeout: an unreachable host must not hang a start-up for minutes.
            connection = Redis.from_url(redis_url, socket_connect_timeout=5)
            worker = RidingWorker(
                list(queues),
                connection=connection,
                serializer="json",
                maintenance_interval=maintenance_interval,
            )
            worker.work(with_scheduler=True, logging_level="INFO")
        except Stopping:
            pass
        except OUTAGES as exc:
            reason = outage(exc)
        stop.install()  # RQ's handlers stay behind its loop; SIGTERM must still end us now
        if worker is not None:
            if worker.stop_asked:
                return
            _tidy(worker)
            dead = worker
        if stop.asked:
            return
        if time.monotonic() - started > HEALTHY_AFTER:
            backoff.reset()
        delay = backoff.next()
        logger.warning("worker %s: %s; starting again in %.1f s", ",".join(queues), reason, delay)
        sleep(delay)


def run_scheduler_riding(
    interval: float,
    once: bool,
    backoff: Backoff | None = None,
    sleep: Callable[[float], Any] = time.sleep,
) -> None:
    """``jobs.schedule.run_scheduler``, kept going: its loop already survives a failed sweep;
    anything that escapes it (an outage while it starts, say) is logged in one line and the
    loop started again after a backoff. Outages inside the loop are logged in one line too."""
    from jobs.schedule import run_scheduler

    backoff = backoff or Backoff()
    logging.getLogger("jobs.schedule").addFilter(OneLineOutages())
    while True:
        started = time.monotonic()
        try:
            run_scheduler(interval, once)
            return
        except OUTAGES as exc:
            if once:
                raise
            if time.monotonic() - started > HEALTHY_AFTER:
                backoff.reset()
            delay = backoff.next()
            logger.warning("scheduler: %s; starting again in %.1f s", outage(exc), delay)
            sleep(delay)
