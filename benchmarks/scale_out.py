"""How a deployment grows (issue #13): the figures behind docs/scale.md, "Growing a deployment".

Three measurements, each against the machine's PostgreSQL in schemas of their own (dropped after):

- ``workers``: ingest throughput with 1, 2 and 3 ``pingyi worker`` processes. A county-sized
  round (98 units, 600 seats, six Standard Webhooks sources) has its 600 deliveries stored in
  the inbox, one ingest job per source is enqueued (Redis database 13, the benchmarks'), and the
  workers run until the inbox is drained and the ranking that follows is stored. Runs alternate
  1, 2, 3, 1, 2, 3, … each on a fresh schema.
- ``province``: the province round of benchmarks/province.py (2,000 units × 5,000 ballots),
  ingested once; ``pingyi rank --without-reliability`` timed ``--repeat`` times, and the tables'
  sizes with their indexes (``pg_total_relation_size``).
- ``partitions``: the province round's votes copied three times under three round ids, once into
  one table indexed by round and once into a table partitioned by round (LIST), then one round's
  grouped count (the ranking's query, without its join to ballots) timed on each, alternating.

Run: ``.venv/bin/python benchmarks/scale_out.py [--repeat N] [--skip province,partitions]``;
prints a JSON summary (the docs quote it; benchmarks/RESULTS.md is edited by hand).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis
from sqlalchemy import create_engine, text

from benchmarks import province
from benchmarks.run import PG_DEFAULT, _drop_schema, _pg_schema_url

BIN = Path(sys.executable).parent
REDIS = os.environ.get("PINGYI_BENCH_REDIS", "redis://127.0.0.1:6379/13")
ROUND, SOURCES, SEATS, UNITS = "2026-10", 6, 600, 98
ANSWERS = ["满意", "满意", "基本满意", "不满意", "不了解", 87.5, 92]


def cli(db: str, *args: str, env: dict | None = None) -> str:
    done = subprocess.run([str(BIN / "pingyi"), "--db", db, *args], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, **(env or {})}, check=False)  # fmt: skip
    if done.returncode:
        raise SystemExit(f"pingyi {args} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def county_round(db: str, work: Path, secrets: dict[str, str]) -> list[str]:
    units, pool, panel = work / "units.csv", work / "pool.csv", work / "panel.txt"
    units.write_text("code,name,system\n" + "".join(
        f"U{i:02d},单位{i},{province.SYSTEMS[i % 4]}\n" for i in range(UNITS)), encoding="utf-8")  # fmt: skip
    pool.write_text("id,name,group\n" + "".join(
        f"M{i:04d},评委{i},{province.GROUPS[i % 5]}\n" for i in range(SEATS)), encoding="utf-8")  # fmt: skip
    panel.write_text("".join(f"M{i:04d}\n" for i in range(SEATS)), encoding="utf-8")
    for args in (["init"], ["import", "units", str(units)], ["import", "pool", str(pool)],
                 ["round", "create", ROUND, "--opens", "2026-10-01", "--closes", "2026-10-31"],
                 ["panel", "set", ROUND, str(panel)]):  # fmt: skip
        cli(db, *args)
    for name in secrets:
        cli(db, "source", "add", name, "--kind", "standard-webhooks", "--round", ROUND,
            "--secret-env", f"BENCH_SECRET_{name.upper()}", env=_secret_env(secrets))  # fmt: skip
    return [s["token"] for s in json.loads(cli(db, "panel", "show", ROUND, "--json"))["seats"]]


def _secret_env(secrets: dict[str, str]) -> dict[str, str]:
    return {f"BENCH_SECRET_{name.upper()}": value for name, value in secrets.items()}


def fill_inbox(db: str, tokens: list[str], sources: list[str]) -> None:
    """One delivery per seat, as the receiver stores them (verified on arrival, so no headers)."""
    rng = random.Random(13)
    rows = []
    for i, token in enumerate(tokens):
        answers = {f"U{u:02d}": rng.choice(ANSWERS) for u in range(UNITS) if rng.random() < 0.9}
        body = json.dumps({"id": f"r{i}", "token": token, "answers": answers,
                           "submitted_at": "2026-10-20T10:00:00+08:00"}, ensure_ascii=False)  # fmt: skip
        rows.append({"s": sources[i % len(sources)], "d": f"msg-{i}", "b": body.encode()})
    engine = create_engine(db)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO inbox (source, delivery_id, received_at, body, headers, "
                          "status, attempts) VALUES (:s, :d, now(), :b, '{}', 'pending', 0)"),
                     rows)  # fmt: skip
    engine.dispose()


def one_worker_run(base: str, workers: int) -> dict:
    """Seconds from enqueueing the ingest jobs to a drained inbox and a stored ranking."""
    db, schema = _pg_schema_url(base)
    redis = Redis.from_url(REDIS)
    if redis.dbsize():
        raise SystemExit(f"{REDIS} holds keys: another benchmark uses it (PINGYI_BENCH_REDIS)")
    procs: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sources = [f"src{i}" for i in range(SOURCES)]
            secrets = {s: f"whsec_{os.urandom(24).hex()}" for s in sources}
            fill_inbox(db, county_round(db, Path(tmp), secrets), sources)
            env = {**os.environ, **_secret_env(secrets), "DATABASE_URL": db, "REDIS_URL": REDIS}
            for _ in range(workers):
                procs.append(subprocess.Popen(
                    [str(BIN / "pingyi"), "worker", "inbox", "ranking", "notify", "poll"],
                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
            while redis.scard("rq:workers") < workers:
                time.sleep(0.05)
            from rq import Queue

            queue = Queue("inbox", connection=redis, serializer="json")
            engine = create_engine(db)
            start = time.perf_counter()
            for source in sources:
                queue.enqueue("jobs.inbox.ingest_inbox", source, job_timeout=300)
            while True:
                with engine.connect() as conn:
                    pending = conn.scalar(text("SELECT count(*) FROM inbox WHERE status <> 'done'"))
                    ranked = conn.scalar(text(
                        "SELECT count(*) FROM ranking_snapshots s WHERE s.computed_at >= "
                        "(SELECT max(processed_at) FROM inbox)"))  # fmt: skip
                if pending == 0 and ranked:
                    break
                if time.perf_counter() - start > 300:
                    raise SystemExit(f"{workers} workers: not drained after 300 s")
                time.sleep(0.05)
            elapsed = time.perf_counter() - start
            engine.dispose()
            return {"workers": workers, "seconds": elapsed, "deliveries_per_s": SEATS / elapsed}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        redis.flushdb()
        _drop_schema(base, schema)


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": len(values)}  # fmt: skip


def bench_workers(base: str, repeat: int) -> dict:
    runs: dict[int, list[float]] = {1: [], 2: [], 3: []}
    for _ in range(repeat):
        for k in runs:
            runs[k].append(one_worker_run(base, k)["seconds"])
    return {f"{k} worker(s)": {**spread(v), "deliveries_per_s": SEATS / statistics.median(v)}
            for k, v in runs.items()}  # fmt: skip


def sizes(db: str) -> dict:
    engine = create_engine(db)
    with engine.connect() as conn:
        out = {t: conn.scalar(text(f"SELECT pg_total_relation_size('{t}')")) / 2**20
               for t in ("votes", "ballots")}  # fmt: skip
        out["vote_rows"] = conn.scalar(text("SELECT count(*) FROM votes"))
    engine.dispose()
    return out


def bench_partitions(db: str, repeat: int) -> dict:
    engine = create_engine(db, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(
            "CREATE TABLE pv_flat AS SELECT b.round_id || '-' || k AS round_id, v.unit_code, "
            "v.label, v.points FROM votes v JOIN ballots b ON b.id = v.ballot_id "
            "CROSS JOIN generate_series(1, 3) AS k WHERE b.status = 'accepted'"))  # fmt: skip
        conn.execute(text("CREATE INDEX pv_flat_round ON pv_flat (round_id)"))
        conn.execute(text("CREATE TABLE pv_part (LIKE pv_flat) PARTITION BY LIST (round_id)"))
        for k in (1, 2, 3):
            conn.execute(text(f"CREATE TABLE pv_part_{k} PARTITION OF pv_part "
                              f"FOR VALUES IN ('{ROUND}-{k}')"))  # fmt: skip
        conn.execute(text("INSERT INTO pv_part SELECT * FROM pv_flat"))
        conn.execute(text("ANALYZE pv_flat"))
        conn.execute(text("ANALYZE pv_part"))
        query = ("SELECT unit_code, label, points, count(*) FROM {t} WHERE round_id = '"
                 + ROUND + "-2' GROUP BY 1, 2, 3 ORDER BY 1")  # fmt: skip
        times: dict[str, list[float]] = {"pv_flat": [], "pv_part": []}
        for _ in range(repeat):
            for table in times:
                start = time.perf_counter()
                conn.execute(text(query.format(t=table))).all()
                times[table].append(time.perf_counter() - start)
        size = {t: conn.scalar(text(f"SELECT pg_total_relation_size('{t}')")) / 2**20
                for t in ("pv_flat", "pv_part_2")}  # fmt: skip
        rows = conn.scalar(text("SELECT count(*) FROM pv_flat"))
    engine.dispose()
    return {"rows_all_rounds": rows, "one round, one table indexed by round": spread(times["pv_flat"]),
            "one round, partitioned by round": spread(times["pv_part"]),
            "mb_table_and_index": size["pv_flat"], "mb_one_partition": size["pv_part_2"]}  # fmt: skip


def bench_province(base: str, repeat: int, partitions: bool) -> dict:
    db, schema = _pg_schema_url(base)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            made = province.setup(db, work)  # the ballots file, or (newer) the seats' tokens
            ballots = made if isinstance(made, Path) else province.write_ballots(work, made)
            config = work / "pingyi.toml"
            cli(db, "--config", str(config), "ingest", ROUND, str(ballots), "--json")
            ranks = []
            for _ in range(repeat):
                start = time.perf_counter()
                cli(db, "--config", str(config), "rank", ROUND, "--json", "--without-reliability")
                ranks.append(time.perf_counter() - start)
            out = {"rank_seconds": spread(ranks), "sizes_mb": sizes(db)}
            if partitions:
                out["partitions"] = bench_partitions(db, repeat)
            return out
    finally:
        _drop_schema(base, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument("--skip", default="", help="comma-separated: workers,province,partitions")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    summary: dict = {"date": f"{datetime.now(UTC):%Y-%m-%d}", "cores": os.cpu_count()}
    if "workers" not in skip:
        summary["workers"] = bench_workers(args.pg, args.repeat)
    if "province" not in skip:
        summary["province"] = bench_province(args.pg, args.repeat, "partitions" not in skip)
    print(json.dumps(summary, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
