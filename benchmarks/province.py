"""Province scale (issue #13): 2,000 units × 5,000 ballots, about 2.25 million answers.

Generates the round (units in four systems, a pool of 5,000 in five groups, a designated panel of
all of them, one ballot each answering 15–30% of the units, labels with 不了解 among them), then
measures, each in a fresh process (time and peak RSS from ``wait4``), paired and alternating in
one run:

- ``limit``: a minimal numpy program over the same ballots file: parse the JSON lines, per unit
  the trimmed mean (one highest and lowest dropped from 7 votes), ranks in system and overall;
- ``peer``: the same with pandas (read, explode, groupby), what an analyst would write;
- ``pingyi rank ROUND --json --without-reliability`` on PostgreSQL (the official ranking; the
  bootstrap report has its own bar, benchmarks/reliability.py);
- ``loader``: parse each line and COPY its vote rows into a PostgreSQL table (the floor for
  ingest), and ``pingyi ingest`` of the same file into a fresh schema.

Run: ``.venv/bin/python benchmarks/province.py [--repeat N]``; rewrites its section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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

from benchmarks.run import PG_DEFAULT, _drop_schema, _pg_schema_url

HEADING = "## Province scale (issue #13)"
ROUND = "2026-10"
SYSTEMS = ["法院", "检察院", "公安局", "司法局"]
GROUPS = ["人大代表", "政协委员", "乡镇政法委员", "乡村干部", "市场主体代表"]
PINGYI = [str(Path(sys.executable).parent / "pingyi")]
CONFIG = '[rules]\nmin_coverage = "1/10"\n'


def run(argv: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of one child process, reaped with ``wait4`` for its
    own resource usage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=ROOT,
                                env={**os.environ, **(env or {})})  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{' '.join(argv)} failed:\n{err.read().decode()[-2000:]}")
        return elapsed, usage.ru_maxrss / 1024, out.read().decode()


def generate(work: Path, seed: int = 13) -> tuple[Path, Path, Path]:
    """units.csv, pool.csv and the panel file; the ballots come once tokens exist."""
    rng = random.Random(seed)
    units = work / "units.csv"
    units.write_text("code,name,system\n" + "".join(
        f"U{i:04d},单位{i},{SYSTEMS[i % 4]}\n" for i in range(2000)), encoding="utf-8")  # fmt: skip
    pool = work / "pool.csv"
    pool.write_text("id,name,group\n" + "".join(
        f"M{i:04d},评委{i},{GROUPS[i % 5]}\n" for i in range(5000)), encoding="utf-8")  # fmt: skip
    panel = work / "panel.txt"
    panel.write_text("".join(f"M{i:04d}\n" for i in range(5000)), encoding="utf-8")
    rng.random()
    return units, pool, panel


def write_ballots(work: Path, tokens: list[str], seed: int = 13) -> Path:
    rng = random.Random(seed)
    quality = [rng.uniform(0.4, 0.9) for _ in range(2000)]
    path = work / "ballots.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for n, token in enumerate(tokens):
            share = rng.uniform(0.15, 0.30)
            lenient = rng.gauss(0, 0.08)
            answers = {}
            for i in range(2000):
                if rng.random() >= share:
                    continue
                if rng.random() < 0.05:
                    answers[f"U{i:04d}"] = "不了解"
                    continue
                x = quality[i] + lenient + rng.gauss(0, 0.15)
                answers[f"U{i:04d}"] = "满意" if x > 0.8 else "基本满意" if x > 0.45 else "不满意"
            ballot = {"id": f"b{n:05d}", "token": token,
                      "submitted_at": "2026-10-20T10:00:00+08:00", "answers": answers}  # fmt: skip
            fh.write(json.dumps(ballot, ensure_ascii=False) + "\n")
    return path


def setup(db: str, work: Path) -> Path:
    units, pool, panel = generate(work)
    config = work / "pingyi.toml"
    config.write_text(CONFIG, encoding="utf-8")
    base = [*PINGYI, "--db", db, "--config", str(config)]
    for args in (["init"], ["import", "units", str(units)], ["import", "pool", str(pool)],
                 ["round", "create", ROUND, "--opens", "2026-10-01", "--closes", "2026-10-31"],
                 ["panel", "set", ROUND, str(panel)]):  # fmt: skip
        run([*base, *args])
    _, _, out = run([*base, "panel", "show", ROUND, "--json"])
    tokens = [s["token"] for s in json.loads(out)["seats"]]
    return write_ballots(work, tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default=PG_DEFAULT)
    args = parser.parse_args()
    url, schema = _pg_schema_url(args.pg)
    loader_url, loader_schema = _pg_schema_url(args.pg)
    rows: dict[str, list[tuple[float, float]]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            ballots = setup(url, work)
            config = work / "pingyi.toml"
            answers = sum(
                len(json.loads(line)["answers"]) for line in ballots.open(encoding="utf-8")
            )
            t, rss, _ = run([*PINGYI, "--db", url, "--config", str(config), "ingest", ROUND,
                               str(ballots), "--json"])  # fmt: skip
            rows.setdefault("pingyi ingest (PostgreSQL)", []).append((t, rss))
            t, rss, _ = run([sys.executable, "benchmarks/province_baselines.py", "loader",
                             str(ballots), loader_url])  # fmt: skip
            rows.setdefault("loader: parse + COPY vote rows", []).append((t, rss))
            for _ in range(args.repeat):
                for name, argv in (
                    ("limit: numpy", [sys.executable, "benchmarks/province_baselines.py",
                                      "numpy", str(ballots)]),
                    ("peer: pandas", [sys.executable, "benchmarks/province_baselines.py",
                                      "pandas", str(ballots)]),
                    ("pingyi rank --json (PostgreSQL)",
                     [*PINGYI, "--db", url, "--config", str(config), "rank", ROUND, "--json",
                      "--without-reliability"]),
                ):  # fmt: skip
                    t, rss, _ = run(argv)
                    rows.setdefault(name, []).append((t, rss))
    finally:
        _drop_schema(args.pg, schema)
        _drop_schema(args.pg, loader_schema)
    summary = {
        name: {"median_s": statistics.median(t for t, _ in runs), "min_s": min(t for t, _ in runs),
               "max_s": max(t for t, _ in runs), "rss_mb": max(r for _, r in runs),
               "runs": len(runs)}
        for name, runs in rows.items()
    }  # fmt: skip
    summary["answers"] = answers
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    write_section(summary, " ".join(sys.argv[1:]))


def write_section(s: dict, flags: str) -> None:
    path = ROOT / "benchmarks" / "RESULTS.md"
    old = path.read_text(encoding="utf-8")
    if HEADING in old:
        start = old.index(HEADING)
        end = old.find("\n## ", start + len(HEADING))
        old = old[:start].rstrip() + "\n" + (old[end:] if end != -1 else "")
    limit = s["limit: numpy"]["median_s"]
    rank = s["pingyi rank --json (PostgreSQL)"]
    loader = s["loader: parse + COPY vote rows"]["median_s"]
    ingest = s["pingyi ingest (PostgreSQL)"]
    lines = [
        f"\n{HEADING}\n",
        f"Produced by `python benchmarks/province.py {flags}`".rstrip() + f" on "
        f"{datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, 2 cores, shared and noisy): 2,000 "
        f"units × 5,000 ballots, {s['answers']:,} answers; each step a fresh process, peak RSS "
        "from wait4; the rank rows alternate limit, peer, pingyi.\n",
        "| step | median | min–max | runs | peak RSS |\n|---|---|---|---|---|",
    ]
    for name, r in s.items():
        if name == "answers":
            continue
        lines.append(f"| {name} | {r['median_s']:.2f} s | {r['min_s']:.2f}–{r['max_s']:.2f} s | "
                     f"{r['runs']} | {r['rss_mb']:.0f} MB |")  # fmt: skip
    lines.append(
        f"\nRatios: `rank` / numpy limit = {rank['median_s'] / limit:.2f} (bar ≤ 3, and ≤ 5 s: "
        f"{rank['median_s']:.2f} s, RSS {rank['rss_mb']:.0f} MB, bar ≤ 1 GB); `ingest` / "
        f"loader = {ingest['median_s'] / loader:.2f} (bar ≤ 2; RSS {ingest['rss_mb']:.0f} MB, "
        f"bar ≤ 500 MB; {s['answers'] / ingest['median_s']:,.0f} answers/s, bar ≥ 50,000).\n"
    )
    import resource

    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lowest = min(r["rss_mb"] for name, r in s.items() if name != "answers")
    verdict = (
        "all of them are above it, so each is that process's own"
        if lowest > driver
        else "a figure at or below it may be the driver's, not the child's"
    )
    lines.append(
        f"This driver's own peak RSS was {driver:.0f} MB; the kernel carries ru_maxrss across fork "
        f"and exec, so no child's figure can be below it: {verdict}.\n"
    )
    path.write_text(old.rstrip() + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
