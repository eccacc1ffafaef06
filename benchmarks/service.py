"""Service benchmarks (SPEC §8), all on loopback with bounded request counts:

- intake: signed Standard Webhooks deliveries against gunicorn + PostgreSQL, at full speed with
  ``wrk`` (pre-signed requests from a file, so the load generator does no crypto) and paced at
  500/s by an open-loop generator (latency measured from each request's scheduled time), next
  to a bare Flask endpoint on the same gunicorn settings as the ceiling;
- ingest: one RQ worker draining the inbox into ballots (98-unit ballots);
- last ballot in → circular published, with real Redis and workers.

Run: ``.venv/bin/python benchmarks/service.py`` (needs wrk: ``apt-get install wrk``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.standard_webhooks.connector import sign_headers

PG = os.environ.get("PINGYI_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("PINGYI_BENCH_REDIS", "redis://127.0.0.1:6379/13")
BIN = Path(sys.executable).parent
ROUND = "2026-10"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def schema():
    name = "bench_" + uuid.uuid4().hex[:10]
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield f"{PG}?options=-csearch_path%3D{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def pingyi(env: dict, *args: str) -> str:
    out = subprocess.run(
        [str(BIN / "pingyi"), *args], env=env, check=True, capture_output=True, text=True
    )
    return out.stdout


def prepare(env: dict, work: Path, seats: int, units: int = 98) -> tuple[list[str], list[str]]:
    """A round with ``units`` units, a pool and a drawn panel of ``seats``; returns (tokens, codes)."""
    codes = [f"U{i:03d}" for i in range(units)]
    (work / "units.csv").write_text(
        "code,name,system\n"
        + "".join(
            f"{c},单位{c},{'法院公安检察司法'[i % 4 * 2 : i % 4 * 2 + 2]}\n"
            for i, c in enumerate(codes)
        ),
        encoding="utf-8",
    )
    (work / "pool.csv").write_text(
        "id,name,group\n" + "".join(f"P{i:05d},评委{i},组{i % 5}\n" for i in range(seats)),
        encoding="utf-8",
    )
    pingyi(env, "init")
    pingyi(env, "import", "units", str(work / "units.csv"))
    pingyi(env, "import", "pool", str(work / "pool.csv"))
    pingyi(env, "round", "create", ROUND, "--opens", "2026-10-01", "--closes", "2099-12-31")
    data = json.loads(
        pingyi(env, "draw", ROUND, "--seats", str(seats), "--seed", "1.2./", "--json")
    )
    pingyi(
        env,
        "source",
        "add",
        "bench",
        "--kind",
        "standard-webhooks",
        "--round",
        ROUND,
        "--secret-env",
        "BENCH_SECRET",
    )
    return [s["token"] for s in data["seats"]], codes


def ballot(i: int, token: str, codes: list[str]) -> bytes:
    labels = ("满意", "满意", "基本满意", "不满意", "不了解")
    answers = {c: labels[(i + j) % 5] for j, c in enumerate(codes)}
    return json.dumps(
        {
            "id": f"b-{i}",
            "token": token,
            "submitted_at": "2026-10-28T09:00:00+08:00",
            "answers": answers,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def signed(
    secret: str, n: int, tokens: list[str], codes: list[str], start: int = 0
) -> list[tuple[dict, bytes]]:
    now = int(time.time())
    out = []
    for i in range(start, start + n):
        body = ballot(i, tokens[i % len(tokens)], codes)
        out.append((sign_headers(secret, f"msg_{i}", now, body), body))
    return out


@contextmanager
def gunicorn(env: dict, app: str = "service.web.app:create_app()", workers: int = 4):
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", "service/web/gunicorn_conf.py", app],
        cwd=ROOT,
        env={**env, "PORT": str(port), "WEB_WORKERS": str(workers)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        yield base
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)


WRK_SCRIPT = r"""
local requests = {}
local n = 0
init = function(args)
  for line in io.lines(args[1]) do
    local id, ts, sig, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)")
    n = n + 1
    requests[n] = wrk.format("POST", nil, {["webhook-id"] = id, ["webhook-timestamp"] = ts,
      ["webhook-signature"] = sig, ["content-type"] = "application/json"}, body)
  end
  i = 0
end
request = function()
  i = i + 1
  if i > n then i = 1 end
  return requests[i]
end
bad = 0
response = function(status, headers, body)
  if status ~= 202 and status ~= 200 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("NON2XX %d\n", summary.errors.status))
end
"""


def wrk(
    url: str,
    deliveries: list[tuple[dict, bytes]],
    seconds: int,
    threads: int = 2,
    connections: int = 32,
) -> dict:
    """Full-speed load with wrk; each request is a distinct pre-signed delivery (wrk cycles
    threads over the same file, so each thread sends its own share from the start)."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "requests.tsv"
        data.write_text(
            "".join(
                f"{h['webhook-id']}\t{h['webhook-timestamp']}\t{h['webhook-signature']}\t{b.decode()}\n"
                for h, b in deliveries
            ),
            encoding="utf-8",
        )
        script = Path(tmp) / "load.lua"
        script.write_text(WRK_SCRIPT, encoding="utf-8")
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                url,
                "--",
                str(data),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    factor = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rate": rate,
        "p99_ms": float(p99.group(1)) * factor,
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def paced(url: str, deliveries: list[tuple[dict, bytes]], rate: float, threads: int = 32) -> dict:
    """Open-loop load at ``rate``/s; latency counts from the scheduled send time, so a stall
    shows up in the percentiles instead of silently slowing the generator down. Plain
    ``http.client`` (gunicorn's sync workers close each connection anyway) keeps the
    generator's own CPU, on the same two cores, small."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.5

    def run(offset: int) -> None:
        for k in range(offset, len(deliveries), threads):
            due = start + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            headers, body = deliveries[k]
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            conn.request("POST", parts.path, body=body, headers=headers)
            status = conn.getresponse().status
            conn.close()
            done = time.perf_counter()
            with lock:
                latencies.append((done - due) * 1000)
                statuses.append(status)

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    latencies.sort()
    return {
        "rate": rate,
        "requests": len(latencies),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
        "max_ms": latencies[-1],
        "non_202": sum(1 for s in statuses if s != 202),
    }


def bench_intake() -> dict:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    with schema() as db, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": db, "REDIS_URL": REDIS, "BENCH_SECRET": secret}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        tokens, codes = prepare(env, Path(tmp), seats=100)
        from redis import Redis

        Redis.from_url(REDIS).flushdb()
        results = {}
        with gunicorn(env) as base:
            url = base + "/hooks/bench"
            paced_set = signed(secret, 5000, tokens, codes, start=0)
            results["paced_500"] = paced(url, paced_set, 500)
            full = signed(secret, 60000, tokens, codes, start=100000)
            results["full"] = wrk(url, full, seconds=15)
        with gunicorn(env, app="benchmarks.bare_app:app") as base:
            results["bare"] = wrk(base + "/hooks/bench", full, seconds=15)
        Redis.from_url(REDIS).flushdb()
    return results


@contextmanager
def workers(env: dict):
    """The Procfile's two RQ workers (intake lane and render lane), as ``make serve`` runs them."""
    common = ["--url", REDIS, "--serializer", "json", "--with-scheduler"]
    procs = [
        subprocess.Popen(
            [str(BIN / "rq"), "worker", *common, *queues],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for queues in (["intake", "ranking", "notify", "poll"], ["render", "ranking"])
    ]  # fmt: skip
    try:
        time.sleep(2)
        yield procs
    finally:
        for proc in procs:
            os.killpg(proc.pid, 15)
        for proc in procs:
            proc.wait(timeout=30)


def bench_ingest(deliveries: int = 2000) -> dict:
    """One RQ worker turning stored deliveries (98-unit ballots, distinct seats) into ballots."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    from redis import Redis

    with schema() as db, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": db, "REDIS_URL": REDIS, "BENCH_SECRET": secret}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        tokens, codes = prepare(env, Path(tmp), seats=deliveries)
        Redis.from_url(REDIS).flushdb()
        with gunicorn(env) as base:
            session = requests.Session()
            for headers, body in signed(secret, deliveries, tokens, codes):
                assert (
                    session.post(base + "/hooks/bench", data=body, headers=headers).status_code
                    == 202
                )
        Redis.from_url(REDIS).flushdb()  # time the drain alone: one job, one worker
        env_worker = {**env}
        from service.queue import JobQueue

        job_id = JobQueue(REDIS).enqueue("intake", "jobs.inbox.ingest_inbox", "bench").id
        started = time.perf_counter()
        subprocess.run(
            [str(BIN / "rq"), "worker", "--burst", "--url", REDIS, "--serializer", "json", "intake"],
            cwd=ROOT, env=env_worker, check=True, capture_output=True,
        )  # fmt: skip
        wall = time.perf_counter() - started
        from rq.job import Job

        job = Job.fetch(job_id, connection=Redis.from_url(REDIS), serializer="json")
        elapsed = (job.ended_at - job.started_at).total_seconds()
        engine = create_engine(db)
        with engine.connect() as conn:
            stored = conn.execute(
                text("select count(*) from ballots where status='accepted'")
            ).scalar()
            pending = conn.execute(
                text("select count(*) from inbox where status='pending'")
            ).scalar()
        engine.dispose()
        Redis.from_url(REDIS).flushdb()
    return {
        "ballots": stored,
        "pending": pending,
        "seconds": elapsed,
        "rate": stored / elapsed,
        "worker_wall_seconds": wall,  # including the worker's start-up
    }


def bench_publish(seats: int = 100) -> dict:
    """Last ballot in (its 202) -> close -> the circular PDF downloadable, with real workers."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    from redis import Redis

    with schema() as db, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": db, "REDIS_URL": REDIS, "BENCH_SECRET": secret}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        tokens, codes = prepare(env, Path(tmp), seats=seats)
        admin = pingyi(env, "token", "create", "--role", "admin").strip()
        auth = {"Authorization": f"Bearer {admin}"}
        Redis.from_url(REDIS).flushdb()
        with gunicorn(env) as base, workers(env):
            session = requests.Session()
            for headers, body in signed(secret, seats, tokens, codes):
                assert (
                    session.post(base + "/hooks/bench", data=body, headers=headers).status_code
                    == 202
                )
            last_in = time.perf_counter()
            assert (
                session.post(f"{base}/api/v1/rounds/{ROUND}/close", headers=auth).status_code == 202
            )
            for _ in range(600):
                pdf = session.get(f"{base}/api/v1/rounds/{ROUND}/circular.pdf", headers=auth)
                if pdf.status_code == 200:
                    break
                time.sleep(0.05)
            published = time.perf_counter() - last_in
            ranking = session.get(f"{base}/api/v1/rounds/{ROUND}/ranking", headers=auth).json()
        Redis.from_url(REDIS).flushdb()
    return {
        "seconds": published,
        "status": pdf.status_code,
        "bytes": len(pdf.content),
        "valid_ballots": ranking["participation"]["valid_ballots"],
    }


if __name__ == "__main__":
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    print(
        json.dumps(
            {"intake": bench_intake(), "ingest": bench_ingest(), "publish": bench_publish()},
            indent=2,
        )
    )
