"""A worker imports its queues' job modules once, before it forks a work horse per job
(service/queue.py JOB_MODULES): a render worker that has not rendered anything yet already has
WeasyPrint's Pango loaded, so a horse inherits it instead of importing pingyi, SQLAlchemy and
WeasyPrint afresh for every job."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from redis import Redis

from tests.harness.processes import BIN, ROOT, RedisServer, kill_tree, wait_for


def _tree(pid: int) -> list[int]:
    """The process and its descendants (``pingyi worker`` supervises the RQ worker)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [pid, *(p for child in out.split() for p in _tree(int(child)))]


def _mapped(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:  # the process ended meanwhile
        return False


def test_an_idle_render_worker_has_its_job_modules_loaded(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [str(BIN / "pingyi"), "worker", "render"],
            cwd=ROOT,
            env={**os.environ, "REDIS_URL": redis.url, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_for(lambda: Redis.from_url(redis.url).scard("rq:workers") == 1, 60, what="worker")
        # No job has run: whatever is loaded, the worker loaded before its first fork.
        assert any(_mapped(pid, "libpango-1.0") for pid in _tree(worker.pid)), log.read_text()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0
    finally:
        if worker.poll() is None:
            kill_tree(worker.pid)
        redis.stop()


def test_preload_imports_each_queues_modules_once() -> None:
    code = (
        "import sys; from service.queue import preload; "
        "print(preload(['inbox', 'notify', 'inbox'])); "
        "print('jobs.inbox' in sys.modules, 'weasyprint' in sys.modules)"
    )
    out = subprocess.run(
        [str(BIN / "python"), "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "['jobs.inbox', 'jobs.notify']"
    assert out[1] == "True False"  # an inbox worker does not carry WeasyPrint
