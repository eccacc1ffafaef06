"""What slow clients and junk URLs cost the web process (issue #9 items 7 and 8), per gunicorn
configuration: ``/healthz`` latency while N clients send their bodies a byte at a time, the
intake rate and p99 (wrk at full speed, and paced at 500/s) on the same configuration, and the
web worker's RSS after POSTs to many random ``/hooks/<long name>`` URLs.

Run: ``.venv/bin/python benchmarks/slow_clients.py [--configs sync:4:1,gthread:4:8]
[--clients 6] [--tree DIR] [--parts slow,intake,rss] [--posts 12000]``. A configuration is ``class:workers:threads``;
``--tree`` serves another checkout (``git archive <commit> | tar -x -C DIR``) to measure before
a change. Needs wrk (``apt-get install wrk``) for the ``intake`` part.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.receiver import paced, wrk
from benchmarks.stack import BIN, REDIS, free_port, new_secret, prepare, schema, signed


@contextmanager
def server(env: dict, tree: Path, kind: str, workers: int, threads: int):
    """gunicorn with the tree's own ``service/web/gunicorn_conf.py`` and the given worker class."""
    port = free_port()
    settings = {"WEB_WORKER_CLASS": kind, "WEB_WORKERS": str(workers), "WEB_THREADS": str(threads)}
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", "service/web/gunicorn_conf.py",
         "service.web.app:create_app()"],
        cwd=tree, env={**env, **settings, "PORT": str(port), "PYTHONPATH": str(tree)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                    if b" 200 " in s.recv(64):
                        break
            except OSError:
                time.sleep(0.1)
        yield port, proc
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def slow_client(port: int, size: int, gap: float, out: list, lock: threading.Lock) -> None:
    """POST a ``size``-byte body one byte every ``gap`` s; record (status, seconds to answer)."""
    started = time.monotonic()
    status = "none"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
            s.sendall(
                b"POST /hooks/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {size}\r\n\r\n".encode()
            )
            s.setblocking(False)
            for _ in range(size):
                try:
                    s.sendall(b" ")
                except OSError:
                    break
                try:
                    answer = s.recv(256)
                    if answer:
                        status = answer.split(b" ")[1].decode()
                        break
                except BlockingIOError:
                    pass
                time.sleep(gap)
            if status == "none":
                s.setblocking(True)
                status = [*s.recv(256).split(b" "), b"closed", b"closed"][1].decode()
    except OSError as exc:
        status = type(exc).__name__
    with lock:
        out.append((status, time.monotonic() - started))


def healthz_under_slow_clients(port: int, clients: int, seconds: float) -> dict:
    slow: list = []
    lock = threading.Lock()
    threads = [
        threading.Thread(target=slow_client, args=(port, 2000, 0.5, slow, lock), daemon=True)
        for _ in range(clients)
    ]
    for t in threads:
        t.start()
    time.sleep(0.5)
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
        except OSError:
            pass
        latencies.append(time.monotonic() - started)
        time.sleep(0.2)
    for t in threads:
        t.join(timeout=60)
    latencies.sort()
    return {
        "probes": len(latencies),
        "healthz_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "healthz_max_ms": round(latencies[-1] * 1000, 1),
        "probes_over_1s": sum(1 for x in latencies if x > 1),
        "slow_clients": sorted({f"{s} after {round(t)} s" for s, t in slow}),
    }


def process_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def worker_pid(master: int) -> int:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                return int(entry)
    raise RuntimeError("no gunicorn worker")


def unknown_sources_rss(port: int, master: int, posts: int) -> dict:
    """The one worker's RSS before and after ``posts`` unsigned POSTs to random names of 3,800
    characters (gunicorn refuses a request line over 4,094 bytes before the app sees it)."""
    pid = worker_pid(master)

    def post(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(n):
            conn.request("POST", "/hooks/" + secrets.token_hex(1900), body=b"{}")
            response = conn.getresponse()
            response.read()
            if response.getheader("Connection", "").lower() == "close" or response.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()

    post(500)  # warm-up: imports, pools, bounded caches
    before = process_rss_kb(pid)
    started = time.monotonic()
    post(posts)
    return {
        "posts": posts,
        "seconds": round(time.monotonic() - started, 1),
        "rss_before_mb": round(before / 1024, 1),
        "rss_after_mb": round(process_rss_kb(pid) / 1024, 1),
        "grown_mb": round((process_rss_kb(pid) - before) / 1024, 1),
    }


def run(configs: list[str], clients: int, tree: Path, parts: set[str], posts: int) -> dict:
    secret = new_secret()
    results: dict = {"tree": str(tree), "clients": clients}
    with schema() as db, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": db, "REDIS_URL": REDIS, "BENCH_SECRET": secret}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        tokens, codes = prepare(env, Path(tmp), seats=100)
        from redis import Redis

        Redis.from_url(REDIS).flushdb()  # database 13 is the benchmarks' own
        start = 0
        for config in configs:
            kind, workers, threads = config.split(":")
            got: dict = {}
            with server(env, tree, kind, int(workers), int(threads)) as (port, _):
                if "slow" in parts:
                    got["slow"] = healthz_under_slow_clients(port, clients, seconds=14)
                if "intake" in parts:
                    url = f"http://127.0.0.1:{port}/hooks/bench"
                    got["paced_500"] = paced(url, signed(secret, 5000, tokens, codes, start), 500)
                    start += 100_000
                    full = signed(secret, 60000, tokens, codes, start=start)
                    start += 100_000
                    got["full"] = wrk(url, full, seconds=12)
            if "rss" in parts:
                with server(env, tree, kind, 1, int(threads)) as (port, proc):
                    got["unknown_sources"] = unknown_sources_rss(port, proc.pid, posts)
            results[config] = got
            print(json.dumps({config: got}), flush=True)
        Redis.from_url(REDIS).flushdb()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="sync:4:1,gthread:4:8")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--parts", default="slow,intake,rss", help="what to measure")
    parser.add_argument("--posts", type=int, default=12000)
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    out = run(args.configs.split(","), args.clients, args.tree, parts, args.posts)
    print(json.dumps(out, indent=2))
