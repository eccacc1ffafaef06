"""The service rides out its dependencies (issue #9): the Procfile under honcho, as ``make serve``
runs it, takes a few hundred deliveries while its Redis is stopped and started and the TCP proxy
in front of its database is killed and started again. Every delivery answered 2xx is stored
exactly once as a ballot (rejected ones included), and every process is still running at the end.

The Redis here is a ``redis-server`` of the test's own (the machine's shared one is never
stopped); it restarts empty, as a Redis without persistence does, so whatever was queued is
lost with it and only the database's record (the inbox, swept by the scheduler) brings it back.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from redis import Redis

from tests.harness.deliveries import ballot, body_of, signed
from tests.harness.processes import BIN, ROOT, RedisServer, descendants, free_port, wait_for
from tests.harness.proxy import TcpProxy, address_of, via_proxy

ROUND = "2026-10"
DELIVERIES = 300
PROCESSES = ("gunicorn", "pingyi worker", "pingyi scheduler")


def _children(pid: int) -> list[int]:
    """honcho's own children: one shell per Procfile line, each alive as long as its command."""
    return [child for child in descendants(pid) if _parent(child) == pid]


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def _command_lines(pid: int) -> list[str]:
    lines = []
    for child in descendants(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                lines.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return lines


def _alive(honcho, log) -> dict[str, int]:
    """How many processes of each kind run under honcho; fails if honcho itself ended."""
    assert honcho.poll() is None, log.read_text()[-4000:]
    lines = _command_lines(honcho.pid)
    return {name: sum(1 for line in lines if name in line) for name in PROCESSES}


def test_every_delivery_counts_once_through_redis_and_database_outages(service, tmp_path) -> None:
    tokens = service.setup_round(ROUND, seats=40, pool=50)
    secret = service.add_source("formbricks")
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    database = TcpProxy(address_of(service.db_url))
    database.start()
    port = free_port()
    service.env.update(
        REDIS_URL=redis.url,
        DATABASE_URL=via_proxy(service.db_url, database),
        WEB_WORKERS="1",  # two cores, four processes, and a load generator in this one
    )
    honcho, log = service.start_process(
        [str(BIN / "honcho"), "start", "-f", str(ROOT / "Procfile"), "-p", str(port)], "honcho"
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: (
                _alive(honcho, log)
                and requests.get(base + "/healthz", timeout=1).status_code == 200
            ),
            40,
            what="the web process",
        )
        workers = Redis.from_url(redis.url)
        wait_for(lambda: workers.scard("rq:workers") == 2, 30, what=f"both workers\n{log}")
        answered: dict[str, int] = {}
        lock = threading.Lock()

        def deliver(i: int) -> None:
            """One delivery, retried as a platform retries until it gets a 2xx (the same
            message id, signed afresh each time)."""
            rid = f"r{i:03d}"
            data = ballot(rid, tokens[i % len(tokens)])
            if i % 25 == 0:
                data["answers"] = {"U9": "满意"}  # no such unit: kept as a rejected ballot
            body = body_of(data)
            for _ in range(200):
                try:
                    r = requests.post(
                        base + "/hooks/formbricks",
                        data=body,
                        headers=signed(secret, body, f"msg_{rid}"),
                        timeout=10,
                    )
                except requests.RequestException:
                    time.sleep(0.2)
                    continue
                if r.status_code in (200, 202):
                    with lock:
                        answered[rid] = r.status_code
                    return
                assert r.status_code == 503, r.text  # the database is away: retry
                time.sleep(0.2)
            raise AssertionError(f"{rid} was never taken")

        def chaos() -> None:
            time.sleep(1.0)
            redis.stop()  # while deliveries arrive and the worker is busy ingesting
            time.sleep(3.0)
            redis.start()
            time.sleep(1.5)
            database.stop()  # the database goes away, every live connection with it
            time.sleep(2.0)
            database.start()
            time.sleep(1.0)
            redis.stop()
            database.stop()
            time.sleep(2.0)
            database.start()
            redis.start()

        trouble = threading.Thread(target=chaos)
        trouble.start()
        with ThreadPoolExecutor(4) as senders:
            list(senders.map(deliver, range(DELIVERIES)))
        trouble.join()
        assert len(answered) == DELIVERIES

        def all_ingested() -> bool:
            return len(service.ballot_counts("formbricks")) == DELIVERIES

        wait_for(all_ingested, 60, interval=0.5, what=f"every delivery ingested\n{log}")
        counts = service.ballot_counts("formbricks")
        assert {rid for rid, n in counts.items() if n != 1} == set()
        assert set(counts) == set(answered)
        assert service.inbox_statuses() == {"done": DELIVERIES}
        rejected = service.scalar("select count(*) from ballots where status = 'rejected'")
        assert rejected == DELIVERIES // 25
        alive = _alive(honcho, log)
        assert all(alive.values()), alive
        wait_for(lambda: workers.scard("rq:workers") == 2, 30, what="both workers back")
        started = [line for line in log.read_text().splitlines() if " started (pid=" in line]
        assert len(started) == 4, started  # web, worker, render, scheduler; none restarted
        assert len(_children(honcho.pid)) == 4
        text = log.read_text(errors="replace")
        assert "starting again in" in text  # a worker did lose Redis mid-work and came back
        assert "stopped (rc=" not in text  # honcho says so when any process ends
        metrics = requests.get(base + "/metrics", timeout=5).text
        assert 'outcome="stored"' in metrics
        assert json.loads(requests.get(base + "/readyz", timeout=5).text)["checks"] == {
            "database": True,
            "redis": True,
        }
    finally:
        database.stop()
        redis.stop()
