"""gunicorn settings for the ``web`` process (Procfile).

Sync workers: intake is short, database-bound work; a few processes per core keep the CPU busy
while one waits on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = os.environ.get("WEB_WORKER_CLASS", "sync")
threads = int(os.environ.get("WEB_THREADS", "1"))
timeout = 30
# A request must never wait long on a client that sends slowly.
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


def child_exit(server, worker) -> None:
    """Prometheus multiprocess mode: forget a dead worker's live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
