"""A half-year summary over six county months (docs/rules.md, Summary rounds): time to rank it,
including the database, on PostgreSQL. Bar (issue #10): ≤ 0.5 s.

Six monthly rounds of the demo county (98 units, 100 seats, every seat answering), closed; two
quarters with two leaders each, a half year with three, each leader answering every unit. Its
circulars (bar ≤ 3 s) are timed too: a quarter's and the half year's. Timed:
ranking the half year when its quarters are already ranked (what the service does after a
leader's ballot), and "cold", when neither quarter has been ranked yet, so that ranking the half
year ranks both quarters first (the months are ranked, as they are once closed).

Run: ``.venv/bin/python benchmarks/summary.py [--pg URL] [--repeat N]``; it rewrites its own
section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results_file import replace_section
from benchmarks.run import PG_DEFAULT, _drop_schema, _pg_schema_url
from jobs.ingest import ingest_file
from jobs.ranking import rank_round
from service.cli import main as pingyi
from service.cli.demo import Demo
from service.config import load_config
from service.store.engine import make_engine, session_scope
from service.store.reference import pool_members
from service.store.rounds import seat_tokens

MONTHS = ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
QUARTERS = {"2026-Q2": MONTHS[:3], "2026-Q3": MONTHS[3:]}
LABELS = ["满意", "满意", "基本满意", "不满意", "不了解"]
HEADING = "## Summary rounds (issue #10)"


def _cli(db: str, *args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            pingyi.main(["--db", db, *args], standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                raise
    return out.getvalue()


def _ballots(path: Path, tokens: list[str], units: list[str], at: str, rng: random.Random) -> None:
    rows = [
        {
            "id": f"{path.stem}-{i}",
            "token": token,
            "submitted_at": at,
            "answers": {u: rng.choice(LABELS) for u in units},
        }
        for i, token in enumerate(tokens)
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def _round_with_panel(db: str, work: Path, rid: str, members: list[str], opens: str, closes: str,
                      *extra: str) -> list[str]:  # fmt: skip
    _cli(db, "round", "create", rid, "--opens", opens, "--closes", closes, *extra)
    panel = work / f"panel-{rid}.txt"
    panel.write_text("\n".join(members) + "\n", encoding="utf-8")
    _cli(db, "panel", "set", rid, str(panel))
    engine = make_engine(db)
    with session_scope(engine) as session:
        tokens = list(seat_tokens(session, rid))
    engine.dispose()
    return tokens


def seed(db: str, work: Path) -> None:
    """The demo county's units and pool, six months, two quarters and a half year with leaders."""
    (work / "demo").mkdir()
    with contextlib.redirect_stdout(io.StringIO()):
        Demo(pingyi, work / "demo", 7, db, echo=lambda *_: None).setup()
    config = load_config({}, work / "demo" / "pingyi.toml", db)
    engine = make_engine(db)
    with session_scope(engine) as session:
        members = sorted(m for m, _, active in pool_members(session, active_only=True))
    from service.cli.demo_county import county_units

    units = [u.code for u in county_units()]
    rng = random.Random(5)
    panel, leaders = members[:100], members[100:103]

    def ingest(rid: str, tokens: list[str], at: str) -> None:
        path = work / f"ballots-{rid}.jsonl"
        _ballots(path, tokens, units, at, rng)
        with session_scope(engine) as session:
            ingest_file(session, rid, path, "canonical", config.rules)

    for month in MONTHS:
        tokens = _round_with_panel(db, work, month, panel, f"{month}-01", f"{month}-28")
        ingest(month, tokens, f"{month}-20T10:00:00+08:00")
    for month in MONTHS:
        _cli(db, "round", "close", month)
        with session_scope(engine) as session:
            rank_round(session, month, config.rules, actor="bench", force=True)
    for quarter, months in QUARTERS.items():
        tokens = _round_with_panel(db, work, quarter, leaders[:2], "2026-11-01", "2026-11-10",
                                   "--kind", "quarterly", "--of", ",".join(months))  # fmt: skip
        ingest(quarter, tokens, "2026-11-05T10:00:00+08:00")
        _cli(db, "round", "close", quarter)
    tokens = _round_with_panel(db, work, "2026-H1", leaders, "2026-11-11", "2026-11-20",
                               "--kind", "semiannual", "--of", ",".join(QUARTERS))  # fmt: skip
    ingest("2026-H1", tokens, "2026-11-15T10:00:00+08:00")
    engine.dispose()


def bench_summary(pg: str, repeat: int) -> dict:
    url, schema = _pg_schema_url(pg)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            seed(url, Path(tmp))
            rules = load_config({}, Path(tmp) / "demo" / "pingyi.toml", url).rules
            engine = make_engine(url)
            start = time.perf_counter()
            with session_scope(engine) as session:  # cold: both quarters ranked inside
                _, snapshot = rank_round(session, "2026-H1", rules, actor="bench")
            cold = time.perf_counter() - start
            warm = []
            for _ in range(repeat):
                start = time.perf_counter()
                with session_scope(engine) as session:
                    _, snapshot = rank_round(session, "2026-H1", rules, actor="bench")
                warm.append(time.perf_counter() - start)
            result = snapshot.result
            config = load_config({}, Path(tmp) / "demo" / "pingyi.toml", url)
            circular = {kind: _time_circular(engine, rid, config, repeat=3)
                        for kind, rid in (("quarterly", "2026-Q3"), ("semiannual", "2026-H1"))}  # fmt: skip
            engine.dispose()
    finally:
        _drop_schema(pg, schema)
    return {
        "units": len(result["units"]),
        "ranked": sum(1 for u in result["units"] if u["status"] == "ranked"),
        "cold_s": cold,
        "median_s": statistics.median(warm),
        "max_s": max(warm),
        "runs": repeat,
        "circular": circular,
    }


def _time_circular(engine, round_id: str, config, repeat: int) -> dict:
    """Assembling, laying out and writing a summary's circular (PDF and XLSX) from its stored
    ranking, as the render job does; nothing is stored, so it can be repeated."""
    from jobs.circulars.publish import build_circular
    from jobs.circulars.render import render_pdf
    from jobs.circulars.xlsx import render_xlsx
    from service.store.results import latest_snapshot

    times, pages = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        with session_scope(engine) as session:
            snapshot = latest_snapshot(session, round_id)
            circular = build_circular(session, round_id, snapshot, config)
        pdf = render_pdf(circular, comment_threshold=config.circular.min_comments)
        render_xlsx(circular)
        times.append(time.perf_counter() - start)
        pages = pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page")
    return {"median_s": statistics.median(times), "max_s": max(times), "runs": repeat,
            "bytes": len(pdf), "pages": pages}  # fmt: skip


def write_section(r: dict, repeat: int) -> None:
    section = (
        f"\n{HEADING}\n\n"
        f"Produced by `.venv/bin/python benchmarks/summary.py --repeat {repeat}` on "
        f"{datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, PostgreSQL on the same machine).\n\n"
        "| what | data | bar | median | max | extra |\n|---|---|---|---|---|---|\n"
        f"| half-year summary ranked, incl. DB load + snapshot, quarters already ranked | six "
        f"months × 98 units × 100 ballots, 2 quarters (2 leaders), half year (3 leaders) | "
        f"≤ 0.5 s | {r['median_s']:.3f} s | {r['max_s']:.3f} s | {r['runs']} runs; "
        f"{r['ranked']} of {r['units']} units ranked |\n"
        f"| the same, cold: both quarters ranked inside | same | ≤ 0.5 s | "
        f"{r['cold_s']:.3f} s | | once |\n"
    )
    for kind, c in r["circular"].items():
        section += (
            f"| {kind} circular: assembled from the DB, PDF laid out and XLSX written | same | "
            f"≤ 3 s | {c['median_s']:.2f} s | {c['max_s']:.2f} s | {c['runs']} runs; "
            f"{c['bytes'] / 1024:.0f} KB PDF |\n"
        )
    replace_section(HEADING, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    r = bench_summary(args.pg, args.repeat)
    print(json.dumps(r, indent=2))
    write_section(r, args.repeat)


if __name__ == "__main__":
    main()
