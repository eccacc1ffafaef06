"""Publishing a province round end to end (issue #13): 2,000 units × 5,000 ballots, about 2.25
million answers, on PostgreSQL. Bar: ≤ 20 s and ≤ 1 GB peak RSS for ``pingyi circular``, which
ranks the round, makes its reliability report, counts its evidence and renders the PDF, XLSX and
JSON and stores them.

The round is benchmarks/province.py's (its generator is imported, not copied), ingested once.
Then, ``--repeat`` times, each step in a fresh process:

- ``rank``: ``pingyi rank ROUND --json --without-reliability`` (the official ranking alone);
- ``reliability``: ``pingyi quality ROUND --json``, which makes the report of that ranking;
- ``evidence``: the circular's evidence of that ranking (``jobs.circulars.evidence``), alone;
- ``circular``: ``pingyi circular ROUND -o … --xlsx … --json …`` (``--reissue`` after the first),
  everything above and the rendering, end to end: the figure the bar is about.

Time is the wall clock from spawning the process to reaping it (interpreter start and imports
included, as a user waits for them). Peak RSS is the child's own VmHWM, read by the child as it
exits: the kernel carries ``ru_maxrss`` across fork and exec, so a child's ``wait4`` figure
cannot be below its parent's. The circular renders its XLSX in a forked child, whose own
VmHWM would include its parent's peak before the fork (the same carrying over): the driver
samples instead, every 20 ms, the children's RSS and the summed RSS and PSS of the step and its
children (``TreeMemory``). CPU seconds (user + system, from ``wait4``) are shown beside the
wall clock because this 2-core machine is shared: CPU time moves less with other people's load.
The load average at each run is recorded, and the spread is reported.

``--before REV`` adds, once per repeat, the ``circular`` step with the code of an earlier
commit (``git archive``, run with its own ``jobs``/``service`` first on the path), for a paired
comparison on the same database. ``--pages DIR`` writes the last circular's pages as PNGs at 50
dpi (``pdftoppm``) to look at.

Run: ``.venv/bin/python benchmarks/province_publish.py [--repeat N] [--before REV] [--pages
DIR]``. It prints the JSON figures and the Markdown section for benchmarks/RESULTS.md; it does
not edit that file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.tree_memory import TreeMemory

# benchmarks.province (its generator) and benchmarks.run import the project: only the driver
# imports them, inside main(), so that a child measuring another tree (--before) has not
# already loaded this one's ``jobs`` and ``service``.
ROUND = "2026-10"  # benchmarks.province.ROUND, checked in main()
HEADING = "## Publishing a province round (issue #13)"
STEPS = ("rank", "reliability", "evidence", "circular")
_OUT = "PINGYI_BENCH_OUT"  # where a child writes its own figures
_FIRST = "PINGYI_BENCH_PATH"  # a source tree to import before the installed one (--before)


def evidence_step(url: str) -> None:
    """The circular's evidence of the latest ranking, counted and thrown away."""
    from sqlalchemy.orm import Session

    from jobs.circulars.evidence import evidence_of
    from service.store.engine import make_engine
    from service.store.results import latest_snapshot
    from service.store.rounds import get_round

    engine = make_engine(url)
    with engine.connect() as connection, Session(bind=connection) as session:
        snapshot = latest_snapshot(session, ROUND)
        evidence = evidence_of(session, get_round(session, ROUND), snapshot)
        assert len(evidence["units"]) == 2000, len(evidence["units"])


def child(argv: list[str]) -> None:
    """Run one step in this process, then write its own peak RSS where the driver reads it.

    ``argv`` is ``pingyi`` arguments, or ``evidence URL``. With ``PINGYI_BENCH_PATH`` set the
    code of that tree is imported instead of the installed one (the editable install's finder
    is taken off ``sys.meta_path``, so ``jobs`` and ``service`` resolve to the tree)."""
    first = os.environ.get(_FIRST)
    if first:
        sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)]
        sys.path.insert(0, first)
    code = 0
    try:
        if argv[0] == "evidence":
            evidence_step(argv[1])
        else:
            from service.cli import main

            try:
                main(argv, standalone_mode=False, prog_name="pingyi")
            except SystemExit as exc:  # click's exit inside standalone_mode=False commands
                code = int(exc.code or 0)
        if first:
            import jobs

            assert str(jobs.__file__).startswith(first), jobs.__file__
    finally:
        status = Path("/proc/self/status").read_text()
        hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
        Path(os.environ[_OUT]).write_text(json.dumps({"vmhwm_mb": hwm / 1024}))
    sys.exit(code)


def step(argv: list[str], extra_env: dict | None = None) -> dict:
    """One fresh process: wall seconds, CPU seconds, its own peak RSS and the load average."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, _OUT: out.name, **(extra_env or {})}
        with tempfile.TemporaryFile() as log:
            load = os.getloadavg()[0]
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, __file__, "--child", *argv], cwd=ROOT,
                                    env=env, stdout=log, stderr=log)  # fmt: skip
            tree = TreeMemory(proc.pid)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            tree.stop()
            if os.waitstatus_to_exitcode(status):
                log.seek(0)
                raise SystemExit(f"{' '.join(argv)} failed:\n{log.read().decode()[-3000:]}")
        own = json.loads(Path(out.name).read_text())
    return {"s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": own["vmhwm_mb"],
            "child_mb": tree.child_mb, "tree_rss_mb": tree.rss_mb, "tree_pss_mb": tree.pss_mb,
            "load": load}  # fmt: skip


def archive(rev: str, into: Path) -> Path:
    """The code of ``rev`` (jobs, service, connectors, templates) in a folder of its own."""
    tree = into / f"tree-{rev[:12]}"
    tree.mkdir()
    listing = subprocess.run(["git", "archive", rev, "jobs", "service", "connectors", "templates"],
                             cwd=ROOT, check=True, capture_output=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(tree)], input=listing, check=True)
    return tree


def make_round(
    province, base: list[str], work: Path, share: tuple[float, float] | None = None
) -> Path:
    """benchmarks/province.py's round in the database and its ballots file, from that
    script's own generator (``generate``, ``write_ballots``, its config and its ``run``)."""
    units, pool, panel = province.generate(work)
    (work / "pingyi.toml").write_text(province.CONFIG, encoding="utf-8")
    for args in (["init"], ["import", "units", str(units)], ["import", "pool", str(pool)],
                 ["round", "create", ROUND, "--opens", "2026-10-01", "--closes", "2026-10-31"],
                 ["panel", "set", ROUND, str(panel)]):  # fmt: skip
        province.run([*province.PINGYI, *base, *args])
    _, _, out = province.run([*province.PINGYI, *base, "panel", "show", ROUND, "--json"])
    tokens = [s["token"] for s in json.loads(out)["seats"]]
    return province.write_ballots(work, tokens, share=share or province.SHARE)


def summarise(runs: list[dict]) -> dict:
    seconds = [r["s"] for r in runs]
    return {
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
        "median_cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "rss_mb": max(r["rss_mb"] for r in runs),
        "rss_min_mb": min(r["rss_mb"] for r in runs),
        "child_mb": max(r["child_mb"] for r in runs),
        "tree_rss_mb": max(r["tree_rss_mb"] for r in runs),
        "tree_pss_mb": max(r["tree_pss_mb"] for r in runs),
        "load": [round(r["load"], 1) for r in runs],
        "runs": len(runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--before", metavar="REV", help="also time `circular` at this commit")
    parser.add_argument("--pages", type=Path, metavar="DIR", help="write the PDF pages as PNGs")
    parser.add_argument("--share", nargs=2, type=float, metavar=("LO", "HI"),
                        help="each ballot answers a share of the units in [LO, HI) "
                             "(benchmarks/province.py's SHARE by default)")  # fmt: skip
    args = parser.parse_args()
    from benchmarks import province
    from benchmarks.province import PINGYI, run
    from benchmarks.run import _drop_schema, _pg_schema_url

    assert province.ROUND == ROUND
    url, schema = _pg_schema_url(args.pg)
    rows: dict[str, list[dict]] = {}
    pages = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            config = work / "pingyi.toml"
            base = ["--db", url, "--config", str(config)]
            ballots = make_round(province, base, work, args.share and tuple(args.share))
            ingest_s, _, _ = run([*PINGYI, *base, "ingest", ROUND, str(ballots), "--json"])
            before = archive(args.before, work) if args.before else None
            out = work / "out"
            out.mkdir()
            files = ["-o", str(out / "c.pdf"), "--xlsx", str(out / "c.xlsx"),
                     "--json", str(out / "c.json"), "--date", "2026-11-03"]  # fmt: skip
            for n in range(args.repeat):
                again = ["--reissue", f"benchmark run {n}"] if n else []
                for name, argv in (
                    ("rank", [*base, "rank", ROUND, "--json", "--without-reliability"]),
                    ("reliability", [*base, "quality", ROUND, "--json"]),
                    ("evidence", ["evidence", url]),
                    ("circular", [*base, "circular", ROUND, *files, *again]),
                ):
                    rows.setdefault(name, []).append(step(argv))
                    print(name, json.dumps(rows[name][-1]), file=sys.stderr, flush=True)
                if before is not None:
                    argv = [*base, "circular", ROUND, *files, "--reissue", f"before {n}"]
                    rows.setdefault("before", []).append(step(argv, {_FIRST: str(before)}))
                    print("before", json.dumps(rows["before"][-1]), file=sys.stderr, flush=True)
            pdf = out / "c.pdf"
            info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
            pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
            if args.pages:
                args.pages.mkdir(parents=True, exist_ok=True)
                subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(args.pages / "p")],
                               check=True)  # fmt: skip
            answers = sum(
                len(json.loads(line)["answers"]) for line in ballots.open(encoding="utf-8")
            )
    finally:
        _drop_schema(args.pg, schema)
    summary = {name: summarise(r) for name, r in rows.items()}
    summary["meta"] = {"answers": answers, "pages": pages, "ingest_s": ingest_s,
                       "before": args.before}  # fmt: skip
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    print(section(summary, " ".join(sys.argv[1:])))


def section(s: dict, flags: str) -> str:
    """The Markdown section for benchmarks/RESULTS.md (printed, for whoever edits that file)."""
    names = {
        "rank": "`pingyi rank --json --without-reliability`",
        "reliability": "`pingyi quality --json` (the reliability report)",
        "evidence": "the circular's evidence alone",
        "circular": "**`pingyi circular` (end to end)**",
        "before": f"`pingyi circular` at {s['meta']['before'] or '—'} (before)",
    }
    lines = [
        f"{HEADING}\n",
        f"Produced by `python benchmarks/province_publish.py {flags}`".rstrip()
        + f" on {datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, 2 cores, shared and noisy): "
        f"benchmarks/province.py's round, 2,000 units × 5,000 ballots, "
        f"{s['meta']['answers']:,} answers, on PostgreSQL; each step a fresh process, wall "
        "clock from spawn to reaping, CPU from wait4, peak RSS the child's own VmHWM.\n",
        "| step | median | min–max | CPU (median) | runs | peak RSS (max; min) | load average |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, label in names.items():
        if key not in s:
            continue
        r = s[key]
        lines.append(
            f"| {label} | {r['median_s']:.1f} s | {r['min_s']:.1f}–{r['max_s']:.1f} s | "
            f"{r['median_cpu_s']:.1f} s | {r['runs']} | {r['rss_mb']:.0f} MB; "
            f"{r['rss_min_mb']:.0f} MB | {', '.join(map(str, r['load']))} |"
        )
    c = s["circular"]
    met = c["median_s"] <= 20 and c["rss_mb"] <= 1024
    lines.append(
        f"\nBar: ≤ 20 s and ≤ 1 GB for the circular: median {c['median_s']:.1f} s (runs "
        f"{c['min_s']:.1f}–{c['max_s']:.1f} s), peak {c['rss_mb']:.0f} MB: "
        f"{'met' if met else 'not met'}. The PDF has {s['meta']['pages']} pages. The XLSX is "
        f"rendered in a forked child beside the PDF: that child's RSS was at most "
        f"{c['child_mb']:.0f} MB, and parent and child together (sampled every 20 ms) at most "
        f"{c['tree_rss_mb']:.0f} MB RSS, counting the pages they share since the fork twice, "
        f"and {c['tree_pss_mb']:.0f} MB PSS, counting them once.\n"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
