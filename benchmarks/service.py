"""Service benchmarks (docs/service.md), all on loopback with bounded request counts:

- the receiver ("webhook intake"): ``benchmarks/receiver.py``;
- ingest: one RQ worker draining the inbox into ballots (98-unit ballots);
- last ballot in → circular published, with real Redis and workers.

Run: ``.venv/bin/python benchmarks/service.py`` (needs wrk: ``apt-get install wrk``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.receiver import bench_intake
from benchmarks.stack import (
    BIN,
    REDIS,
    ROUND,
    gunicorn,
    new_secret,
    pingyi,
    prepare,
    schema,
    signed,
    workers,
)

__all__ = ["bench_ingest", "bench_intake", "bench_publish"]


def bench_ingest(deliveries: int = 2000) -> dict:
    """One RQ worker turning stored deliveries (98-unit ballots, distinct seats) into ballots."""
    secret = new_secret()
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
        from service.queue import INBOX, JobQueue

        job_id = JobQueue(REDIS).enqueue(INBOX, "jobs.inbox.ingest_inbox", "bench").id
        started = time.perf_counter()
        subprocess.run(
            [str(BIN / "rq"), "worker", "--burst", "--url", REDIS, "--serializer", "json", INBOX],
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
    secret = new_secret()
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
