"""The service stack the benchmarks run against, on loopback: a fresh PostgreSQL schema, a round
with a drawn panel and a ``standard-webhooks`` source, signed deliveries, gunicorn with the
production settings, and the Procfile's RQ workers. Redis is database 13 (the tests never use it).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.signatures import sign_headers

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
def gunicorn(env: dict, app: str = "service.web.app:create_app()", workers: int | None = None):
    """gunicorn with the web process's own settings (service/web/gunicorn_conf.py: gthread, a
    process per core, 8 threads each) unless ``workers`` says how many processes."""
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", "service/web/gunicorn_conf.py", app],
        cwd=ROOT,
        env={**env, "PORT": str(port), **({"WEB_WORKERS": str(workers)} if workers else {})},
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


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@contextmanager
def workers(env: dict):
    """The Procfile's two workers (inbox lane and render lane), started as ``make serve`` starts
    them (``pingyi worker``, which imports its queues' job modules before taking work); yields
    once both are registered with Redis, so start-up is not timed as work."""
    from redis import Redis

    procs = [
        subprocess.Popen(
            [str(BIN / "pingyi"), "worker", "--maintenance-interval", "60", *queues],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for queues in (["inbox", "ranking", "notify", "poll"], ["render", "ranking"])
    ]  # fmt: skip
    try:
        client = Redis.from_url(env["REDIS_URL"])
        deadline = time.monotonic() + 120
        while client.scard("rq:workers") < len(procs):
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not register within 120 s")
            time.sleep(0.1)
        yield procs
    finally:
        for proc in procs:
            os.killpg(proc.pid, 15)
        for proc in procs:
            proc.wait(timeout=30)
