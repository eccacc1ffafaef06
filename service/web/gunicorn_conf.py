"""gunicorn settings for the ``web`` process (Procfile).

Threaded workers (gthread), one process per core with 8 threads each: intake is short,
database-bound work, and a client that sends its body slowly then holds one thread, not a whole
process. With sync workers six such clients stalled ``/healthz`` (and every delivery) for
30 s and more; with these settings ``/healthz`` answers in milliseconds meanwhile, and the
receiver cuts each slow body off after 10 s (``service/web/slow_bodies.py``). The measurement,
with intake rates for both, is in benchmarks/RESULTS.md ("Slow clients").
"""

from __future__ import annotations

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count()))
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
# Each thread may hold one inbox connection and one pooled one: 2 × workers × threads
# PostgreSQL connections at most (32 on two cores), well inside its default 100.
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = 30
# How long an idle kept-alive connection is kept; it waits in the poller, holding no thread.
keepalive = 5
# gunicorn 27's control socket lives at one path per user (~/.gunicorn/gunicorn.ctl): two
# instances on one machine (tests, benchmarks) would fight over it, and nothing here uses it.
control_socket_disable = True
accesslog = None  # access logs would carry URLs and status only, but intake volume makes them noise


def post_worker_init(worker) -> None:
    """Warm the worker before it takes traffic: the first delivery would otherwise pay for
    importing the Redis and RQ clients (~60 ms), and with every worker warming at once under
    load those first requests queued up into the intake's p99."""
    from service.queue import warm_up

    warm_up()
    receiver = getattr(getattr(worker.wsgi, "wsgi_app", None), "receiver", None)
    pool = getattr(worker, "tpool", None)  # gthread's serving threads
    if receiver is not None and pool is None:
        receiver.warm_up()
    elif receiver is not None:
        _warm_threads(pool, worker.cfg.threads, receiver.warm_up)


def _warm_threads(pool, threads: int, warm_up) -> None:
    """Start every serving thread now and let each run ``warm_up`` (a source lookup, which
    opens its pooled database connection): the pool otherwise makes its threads one at a time
    as requests arrive, and under load the first seconds' deliveries paid for it (cold p99 at
    500/s: 180-200 ms without, 15-30 ms with; benchmarks/RESULTS.md). Not waited for: a
    database that is down must not hold up the worker's start."""
    import contextlib
    import threading

    gate = threading.Barrier(threads + 1, timeout=10)

    def start() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            gate.wait()
        warm_up()

    for _ in range(threads):
        pool.submit(start)
    with contextlib.suppress(threading.BrokenBarrierError):
        gate.wait()


def child_exit(server, worker) -> None:
    """Prometheus multiprocess mode: forget a dead worker's live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
