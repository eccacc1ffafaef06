"""Benchmarks for the docs/service.md bars this checkout can reach; writes benchmarks/RESULTS.md.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/run.py [--pg URL] [--repeat N]``).

- ranking: one monthly round, 100 ballots × 98 units, *including* loading it from the database
  and storing the snapshot (``jobs.ranking.rank_round``), on SQLite and PostgreSQL;
- circular: rendering the 98-unit monthly circular (PDF with charts), time, size and peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobs.ingest import ingest_file
from jobs.ranking import rank_round
from service.cli import main as pingyi
from service.cli.demo import ROUND, run_demo
from service.cli.demo_county import county_units
from service.config import load_config
from service.store.engine import make_engine, session_scope

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _seed_round(workdir: Path, database_url: str) -> None:
    """The demo month (98 units, 100 seats) in ``database_url``, then ballots from the seats
    that stayed silent in the demo, so that every one of the 100 seats has a ballot."""
    with contextlib.redirect_stdout(io.StringIO()):
        run_demo(pingyi, workdir, seed=7, database_url=database_url, echo=lambda *_: None)
    seats = json.loads((workdir / "panel.json").read_text(encoding="utf-8"))["seats"]
    demo_ballots = [
        json.loads(line)
        for line in (workdir / "ballots.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    # ls-9xxx are the demo's deliberately rejected ballots (forwarded link, late).
    answered = {b["token"] for b in demo_ballots if not b["id"].startswith("ls-9")}
    units = [u.code for u in county_units()]
    rng = random.Random(11)
    extra = [
        {
            "id": f"bench-{i}",
            "token": seat["token"],
            "submitted_at": "2026-10-30T12:00:00+08:00",
            "answers": {
                u: rng.choice(["满意", "满意", "基本满意", "不满意", "不了解"]) for u in units
            },
        }
        for i, seat in enumerate(seats)
        if seat["token"] not in answered
    ]
    path = workdir / "extra.jsonl"
    path.write_text(
        "".join(json.dumps(b, ensure_ascii=False) + "\n" for b in extra), encoding="utf-8"
    )
    config = load_config({}, workdir / "pingyi.toml", database_url)
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        ingest_file(session, ROUND, path, "canonical", config.rules)
    engine.dispose()


def bench_ranking(database_url: str, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        _seed_round(Path(tmp), database_url)
        engine = make_engine(database_url)
        config = load_config({}, Path(tmp) / "pingyi.toml", database_url)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            with session_scope(engine) as session:
                ranking, _ = rank_round(session, ROUND, config.rules, actor="bench")
            times.append(time.perf_counter() - start)
        engine.dispose()
    return {
        "ballots": ranking.ballots,
        "units": len(ranking.units),
        "median_s": statistics.median(times),
        "max_s": max(times),
        "runs": repeat,
    }


def _pg_schema_url(base: str) -> tuple[str, str]:
    schema = "bench_" + uuid.uuid4().hex[:10]
    with create_engine(base, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return f"{base}?options=-csearch_path%3D{schema}", schema


def _drop_schema(base: str, schema: str) -> None:
    with create_engine(base, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def bench_circular(repeat: int) -> dict:
    """Render in a fresh process per run, so peak RSS is the renderer's own: read from the
    child's /proc/self/status (VmHWM, its own address space's high-water mark), because the
    kernel carries getrusage's ru_maxrss across fork and exec, so a child of this driver (which
    has just run the demo) would report the driver's peak."""
    code = (
        "import json,re,sys,time\n"
        "from jobs.circulars.render import render_pdf\n"
        "circular=json.load(open(sys.argv[1]))\n"
        "circular['comments']=json.load(open(sys.argv[2]))\n"
        "t=time.perf_counter();pdf=render_pdf(circular);dt=time.perf_counter()-t\n"
        "hwm=int(re.search(r'VmHWM:\\s+(\\d+)',open('/proc/self/status').read()).group(1))\n"
        "print(json.dumps({'s':dt,'bytes':len(pdf),'rss_kb':hwm}))\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        with contextlib.redirect_stdout(io.StringIO()):
            run_demo(pingyi, out, seed=7, echo=lambda *_: None)
        circular = json.loads((out / f"circular-{ROUND}.json").read_text(encoding="utf-8"))
        comments = _demo_comments(out)
        (out / "comments.json").write_text(
            json.dumps(comments, ensure_ascii=False), encoding="utf-8"
        )
        runs = []
        for _ in range(repeat):
            res = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    code,
                    str(out / f"circular-{ROUND}.json"),
                    str(out / "comments.json"),
                ],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
        pages = subprocess.run(
            ["pdfinfo", str(out / f"circular-{ROUND}.pdf")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    page_count = next(
        int(line.split()[-1]) for line in pages.splitlines() if line.startswith("Pages:")
    )
    return {
        "units": len(circular["ranking"]["units"]),
        "pages": page_count,
        "median_s": statistics.median(r["s"] for r in runs),
        "max_s": max(r["s"] for r in runs),
        "bytes": max(r["bytes"] for r in runs),
        "peak_rss_mb": max(r["rss_kb"] for r in runs) / 1024,
        "runs": repeat,
    }


def _demo_comments(out: Path) -> dict:
    from jobs.circulars.summary_data import pooled_comments

    engine = make_engine(f"sqlite:///{out / 'demo.sqlite'}")
    with session_scope(engine) as session:
        return pooled_comments(session, [ROUND])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--pg", default=PG_DEFAULT, help="PostgreSQL URL (a schema is made and dropped)"
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="ranking and circular only")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["ranking_sqlite"] = bench_ranking(f"sqlite:///{tmp}/bench.sqlite", args.repeat)
    try:
        url, schema = _pg_schema_url(args.pg)
    except Exception as exc:  # PostgreSQL is optional for a local run; CI has it
        print(f"PostgreSQL not reachable ({exc.__class__.__name__}); skipping its benchmark")
    else:
        try:
            results["ranking_postgres"] = bench_ranking(url, args.repeat)
        finally:
            _drop_schema(args.pg, schema)
    results["circular"] = bench_circular(max(3, args.repeat // 2))
    if not args.quick:
        from benchmarks.limesurvey_ingest import bench_limesurvey_ingest
        from benchmarks.service import bench_ingest, bench_intake, bench_publish

        if shutil.which("wrk"):
            results["intake"] = bench_intake()
        else:
            print("wrk not installed (apt-get install wrk): skipping the intake benchmark")
        results["ingest"] = bench_ingest()
        results["publish"] = bench_publish()
        results["limesurvey"] = bench_limesurvey_ingest(args.pg)
    write_results(results, args)
    print((ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8"))


def write_results(results: dict[str, dict], args: argparse.Namespace) -> None:
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `make bench` (`.venv/bin/python benchmarks/run.py --repeat {args.repeat}`; needs Debian `wrk`) on "
        f"{datetime.now(UTC):%Y-%m-%d} — {platform.machine()}, {_cores()} cores, Python "
        f"{platform.python_version()}.",
        "",
        "| what | data | bar (docs/service.md) | median | max | extra |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in (("ranking_sqlite", "SQLite"), ("ranking_postgres", "PostgreSQL")):
        r = results.get(key)
        if r:
            lines.append(
                f"| ranking job incl. DB load + snapshot, {label} | {r['ballots']} ballots × "
                f"{r['units']} units | ≤ 0.3 s | {r['median_s']:.3f} s | {r['max_s']:.3f} s | {r['runs']} runs |"
            )
    c = results["circular"]
    lines.append(
        f"| monthly circular PDF, charts | {c['units']} units, {c['pages']} pages | ≤ 3 s, ≤ 2 MB, "
        f"RSS ≤ 400 MB | {c['median_s']:.2f} s | {c['max_s']:.2f} s | {c['bytes'] / 1024:.0f} KiB, "
        f"peak RSS {c['peak_rss_mb']:.0f} MB (fresh process), {c['runs']} runs |"
    )
    if "intake" in results:
        intake = results["intake"]
        full, paced, bare = (intake[k] for k in ("full", "paced_500", "bare"))
        spread = " / ".join(f"{r:,.0f}" for r in full["rates"])
        lines.append(
            f"| webhook intake (verify + store raw + 202), gunicorn as deployed (gthread, 2 processes × 8 threads), PostgreSQL | signed "
            f"98-unit ballots, each sent once, wrk 2 threads × 32 connections, "
            f"{intake['repeats']} × {intake['seconds']} s | ≥ 1,000/s | "
            f"{full['rate']:,.0f}/s | p99 {full['p99_ms']:.1f} ms | runs {spread}/s; "
            f"{full['non_2xx']} non-2xx, {full['duplicates']} duplicates |"
        )
        lines.append(
            f"| intake paced at 500/s (open loop, latency from the scheduled send) | "
            f"{paced['requests']:,} deliveries | p99 ≤ 50 ms | p50 {paced['p50_ms']:.1f} ms | "
            f"p99 {paced['p99_ms']:.1f} ms | {paced['non_202']} non-202 |"
        )
        pairs = " / ".join(f"{100 * r:.0f}%" for r in intake["ratios"])
        lines.append(
            f"| bare Flask endpoint, same gunicorn settings (the ceiling), runs alternating with "
            f"the intake's | same load | intake ≥ 50% of it | {bare['rate']:,.0f}/s | "
            f"p99 {bare['p99_ms']:.1f} ms | intake = {100 * intake['ratio']:.0f}% of bare "
            f"(median of pairs {pairs}) |"
        )
    if "ingest" in results:
        r = results["ingest"]
        lines.append(
            f"| ingest job, one RQ worker (inbox → validated ballots) | {r['ballots']:,} ballots × 98 "
            f"units | ≥ 500 ballots/s | {r['rate']:,.0f} ballots/s | {r['seconds']:.2f} s in the job | "
            f"{r['worker_wall_seconds']:.2f} s with worker start-up |"
        )
    if "publish" in results:
        r = results["publish"]
        lines.append(
            f"| last ballot in → circular published (gunicorn, 2 RQ workers, Redis, PostgreSQL) | "
            f"{r['valid_ballots']} ballots, close right after the last | ≤ 15 s | {r['seconds']:.2f} s "
            f"| | {r['bytes'] / 1024:.0f} KiB PDF |"
        )
    if "limesurvey" in results:
        r = results["limesurvey"]
        lines.append(
            f"| LimeSurvey poll into PostgreSQL (`pingyi poll`) | {r['responses']:,} responses "
            f"× 98 units | ≤ 20 s | {r['seconds']:.2f} s | | "
            f"nothing new: {r['idle_poll_calls']} RPC calls in {r['idle_poll_seconds'] * 1000:.0f} ms |"
        )
    lines += ["", f"Benchmark driver peak RSS: {rss_self:.0f} MB.", ""]
    # Sections measured by other scripts (## headings, e.g. benchmarks/slow_clients.py) stay.
    path = ROOT / "benchmarks" / "RESULTS.md"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    kept = old[old.index("\n## ") :] if "\n## " in old else ""
    path.write_text("\n".join(lines) + kept, encoding="utf-8")


def _cores() -> int:
    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
