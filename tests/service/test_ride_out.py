"""Every Procfile process rides out its dependencies (issue #9 item 6).

``rq worker`` used to exit when Redis went away while it was busy, and under honcho one exit
stops every process. ``pingyi worker`` backs off and starts again; ``pingyi scheduler`` keeps
sweeping through Redis and database outages and logs each failed sweep in one line. Each test
runs a ``redis-server`` of its own, which it stops and starts (never the machine's shared one).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

from redis import Redis
from rq import Queue

from service.cli.processes import Backoff
from service.models.inbox import InboxDelivery
from service.store.engine import make_engine, session_scope, utcnow
from tests.harness.processes import BIN, ROOT, RedisServer, kill_tree, wait_for
from tests.harness.proxy import TcpProxy, address_of, via_proxy


def _start(args: list[str], log: Path, **env: str) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        kill_tree(process.pid)
    process.wait(timeout=10)


def test_backoff_doubles_up_to_its_cap_with_jitter_and_resets() -> None:
    low = Backoff(base=0.5, cap=8.0, rng=lambda: 0.0)
    assert [low.next() for _ in range(7)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    high = Backoff(base=0.5, cap=8.0, rng=lambda: 0.999999)
    assert [round(high.next(), 3) for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    high.reset()
    assert round(high.next(), 3) == 0.5


def test_a_worker_busy_when_redis_stops_starts_again_and_works_on(tmp_path) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    log = tmp_path / "worker.log"
    worker = _start([str(BIN / "pingyi"), "worker", "inbox"], log, REDIS_URL=redis.url)
    try:
        queue = Queue("inbox", connection=Redis.from_url(redis.url), serializer="json")
        for _ in range(100):
            queue.enqueue("time.sleep", 0.1)
        wait_for(lambda: queue.count < 90, 30, interval=0.05, what=f"jobs done\n{log}")
        redis.stop()  # mid-job: `rq worker` quits here ("found an unhandled exception")
        time.sleep(3)
        assert worker.poll() is None, log.read_text()[-3000:]
        redis.start()  # empty, as a restarted Redis without persistence is
        marker = tmp_path / "done-after-the-outage"
        queue = Queue("inbox", connection=Redis.from_url(redis.url), serializer="json")
        queue.enqueue("os.mkdir", str(marker))
        wait_for(marker.exists, 30, interval=0.1, what=f"a job after the outage\n{log}")
        text = log.read_text()
        assert "worker inbox: " in text and "starting again in" in text

        # SIGTERM still ends it while Redis is away, with status 0: whether the outage found it
        # idle (RQ reconnects by itself: "could not connect") or in our backoff.
        redis.stop()
        signs = ("starting again in", "could not connect")
        before = sum(log.read_text().count(sign) for sign in signs)

        def waiting() -> bool:
            return sum(log.read_text().count(sign) for sign in signs) - before >= 3

        wait_for(waiting, 30, what=f"a wait for Redis\n{log}")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0, log.read_text()[-3000:]
        redis.start()
        worker = _start([str(BIN / "pingyi"), "worker", "inbox"], log, REDIS_URL=redis.url)
        wait_for(lambda: Redis.from_url(redis.url).scard("rq:workers") == 1, 30, what="worker")
        worker.send_signal(signal.SIGTERM)
        # An idle worker ends within about 3 s of SIGTERM on this machine with two CPU hogs
        # beside it; one full CI run (three test processes) saw it take over 15 s, unexplained:
        # the bound is 30 s, and a miss says what the process tree was doing.
        try:
            code = worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            tree = subprocess.run(["ps", "-o", "pid,ppid,stat,wchan:24,etime,cmd", "-g",
                                   str(worker.pid)], capture_output=True, text=True).stdout  # fmt: skip
            raise AssertionError(
                f"no exit 30 s after SIGTERM\n{tree}\n{log.read_text()[-3000:]}"
            ) from None
        assert code == 0
    finally:
        _stop(worker)
        redis.stop()


def test_an_idle_worker_registers_again_when_redis_comes_back_empty(tmp_path) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    log = tmp_path / "worker.log"
    worker = _start([str(BIN / "pingyi"), "worker", "inbox"], log, REDIS_URL=redis.url)
    try:
        client = Redis.from_url(redis.url)
        wait_for(lambda: client.scard("rq:workers") == 1, 30, what=f"the worker\n{log}")
        redis.stop()  # idle: RQ reconnects by itself, but Redis comes back without its data
        time.sleep(2)
        redis.start()
        wait_for(lambda: client.scard("rq:workers") == 1, 30, what=f"registered again\n{log}")
        queue = Queue("inbox", connection=client, serializer="json")
        marker = tmp_path / "done"
        queue.enqueue("os.mkdir", str(marker))
        wait_for(marker.exists, 30, interval=0.1, what=f"a job after the outage\n{log}")
        assert worker.poll() is None
    finally:
        _stop(worker)
        redis.stop()


def test_the_scheduler_sweeps_on_through_redis_and_database_outages(pg_url, tmp_path) -> None:
    engine = make_engine(pg_url)
    with session_scope(engine) as session:
        session.add(
            InboxDelivery(
                source="s",
                delivery_id="msg_1",
                received_at=utcnow() - timedelta(minutes=1),
                body=b"{}",
                headers={},
                status="pending",
                attempts=0,
            )
        )
    engine.dispose()
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    database = TcpProxy(address_of(pg_url))
    database.start()
    log = tmp_path / "scheduler.log"
    args = [str(BIN / "pingyi"), "scheduler", "--interval", "0.3"]
    env = {"REDIS_URL": redis.url, "DATABASE_URL": via_proxy(pg_url, database)}
    scheduler = _start(args, log, **env)
    client = Redis.from_url(redis.url)
    try:
        wait_for(lambda: client.llen("rq:queue:inbox") == 1, 30, what=f"a sweep\n{log}")
        redis.stop()
        database.stop()
        time.sleep(2)
        redis.start()  # empty: the job the sweep had enqueued is gone with it
        time.sleep(1)
        assert client.llen("rq:queue:inbox") == 0
        database.start()
        wait_for(lambda: client.llen("rq:queue:inbox") == 1, 30, what=f"a sweep again\n{log}")
        assert scheduler.poll() is None
    finally:
        _stop(scheduler)
        database.stop()
        redis.stop()
    text = log.read_text()
    assert "sweep failed" in text
    assert "Traceback" not in text, text[-3000:]  # one line per failed sweep
    assert "Connection refused" in text or "ConnectionError" in text


def test_an_outage_that_escapes_the_sweep_loop_restarts_it_after_a_backoff(
    monkeypatch, caplog
) -> None:
    """What escapes ``run_scheduler`` itself (an outage while it starts, before its own loop
    catches anything) is logged in one line and the loop is started again after a growing
    backoff; ``--once`` lets it through. The loop is stood in for: no fault of a real one
    reaches this path, which is why it is tested on its own (found by the audit of issue #9)."""
    from redis.exceptions import ConnectionError as RedisDown
    from sqlalchemy.exc import OperationalError

    import jobs.schedule
    from service.cli.processes import run_scheduler_riding

    outages = [RedisDown("Error 111 connecting"), OperationalError("SELECT 1", {}, Exception())]
    calls: list[tuple[float, bool]] = []

    def loop(interval: float, once: bool) -> None:
        calls.append((interval, once))
        if outages:
            raise outages.pop(0)

    slept: list[float] = []
    monkeypatch.setattr(jobs.schedule, "run_scheduler", loop)
    with caplog.at_level("WARNING", logger="service.cli.processes"):
        run_scheduler_riding(
            0.3, False, backoff=Backoff(base=1, cap=8, rng=lambda: 0.999), sleep=slept.append
        )
    assert calls == [(0.3, False)] * 3  # started, started again twice, then it returned
    assert [round(s, 2) for s in slept] == [1.0, 2.0]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and all("starting again in" in line for line in lines)
    assert "Traceback" not in caplog.text
    outages.append(RedisDown("again"))
    try:
        run_scheduler_riding(0.3, True, sleep=slept.append)
    except RedisDown:
        pass
    else:
        raise AssertionError("--once must let the outage through")
    assert len(slept) == 2


def test_a_worker_without_redis_url_says_so() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    args = [str(BIN / "pingyi"), "worker", "inbox"]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "REDIS_URL is not set" in done.stderr


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_a_killed_worker_is_started_again_and_its_supervisor_never_exits(tmp_path) -> None:
    """Under honcho one exit stops every process: a worker killed from outside (OOM, kill -9)
    must not end ``pingyi worker`` itself."""
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    log = tmp_path / "worker.log"
    supervisor = _start([str(BIN / "pingyi"), "worker", "inbox"], log, REDIS_URL=redis.url)
    try:
        wait_for(lambda: _children(supervisor.pid), 30, what=f"the worker process\n{log}")
        [first] = _children(supervisor.pid)
        queue = Queue("inbox", connection=Redis.from_url(redis.url), serializer="json")
        wait_for(lambda: Redis.from_url(redis.url).keys("rq:worker:*"), 30, what="registered")
        os.kill(first, signal.SIGKILL)
        wait_for(
            lambda: _children(supervisor.pid) not in ([], [first]), 30, what=f"a new worker\n{log}"
        )
        assert supervisor.poll() is None
        marker = tmp_path / "done-by-the-new-worker"
        queue.enqueue("os.mkdir", str(marker))
        wait_for(marker.exists, 30, interval=0.1, what=f"a job after the kill\n{log}")
        assert "ended (signal 9); starting again in" in log.read_text()

        [second] = _children(supervisor.pid)
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=20) == 0, log.read_text()[-3000:]
        assert subprocess.run(["kill", "-0", str(second)], capture_output=True).returncode != 0
    finally:
        _stop(supervisor)
        redis.stop()
