"""Province scale (issue #13): 2,000 units × 5,000 ballots, about 2.25 million answers.

Generates the round (units in four systems, a pool of 5,000 in five groups, a designated panel of
all of them, one ballot each answering 15–30% of the units, labels with 不了解 among them), then
measures, each in a fresh process started after a ``CHECKPOINT`` (time; peak RSS as the child's
own VmHWM), in one run:

- ``loader`` and ``pingyi ingest``, paired and alternating ``--repeat`` times, each into a fresh
  schema: the loader parses each line and COPYs its vote rows into a plain table (the floor for
  ingest; it parses with the same decoder as pingyi, the standard library's ``json``), then
  ``pingyi ingest`` takes the same ballots (the file rewritten with the new schema's seat tokens,
  nothing else changed) into a freshly set-up round;
- ``limit``: a minimal numpy program over the same ballots file: parse the JSON lines, per unit
  the trimmed mean (one highest and lowest dropped from 7 votes), ranks in system and overall;
- ``peer``: the same with pandas (read, explode, groupby), what an analyst would write;
- ``pingyi rank ROUND --json --without-reliability`` on PostgreSQL (the official ranking; the
  bootstrap report has its own bar, benchmarks/reliability.py), on the last ingested round.

Run: ``.venv/bin/python benchmarks/province.py [--repeat N]``; prints the figures as JSON and
the section for benchmarks/RESULTS.md (``--write`` puts it there).
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

from benchmarks.results_file import replace_section
from benchmarks.run import PG_DEFAULT, _drop_schema, _pg_schema_url

HEADING = "## Province scale (issue #13)"
ROUND = "2026-10"
SYSTEMS = ["法院", "检察院", "公安局", "司法局"]
GROUPS = ["人大代表", "政协委员", "乡镇政法委员", "乡村干部", "市场主体代表"]
PINGYI = [str(Path(sys.executable).parent / "pingyi")]  # a Python script
CONFIG = '[rules]\nmin_coverage = "1/10"\n'


# Runs a script (argv[1]) and, as it exits, reports its own peak RSS: getrusage's ru_maxrss of
# a child cannot be read below its parent's (the kernel carries it across fork and exec).
HWM = (
    "import atexit,re,runpy,sys\n"
    "def hwm():\n"
    "    kb = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
    "    sys.stderr.write(f'\\nVmHWM {kb}\\n')\n"
    "atexit.register(hwm)\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def run(argv: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of one child process: a Python script run through
    ``HWM``, so the RSS is the child's own VmHWM."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", HWM, *argv], stdout=out, stderr=err,
                                cwd=ROOT, env={**os.environ, **(env or {})})  # fmt: skip
        _, status, _ = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        errors = err.read().decode()
        if proc.returncode:
            raise SystemExit(f"{' '.join(argv)} failed:\n{errors[-2000:]}")
        rss = int(errors.rsplit("VmHWM ", 1)[1].split()[0]) / 1024
        return elapsed, rss, out.read().decode()


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


# Each ballot answers a share of the units drawn uniformly from this range: about 2.25 million
# answers. ``--share 0.30 0.60`` makes the denser round #13 also speaks of (4.5 million).
SHARE = (0.15, 0.30)


def write_ballots(
    work: Path, tokens: list[str], seed: int = 13, share: tuple[float, float] = SHARE
) -> Path:
    rng = random.Random(seed)
    quality = [rng.uniform(0.4, 0.9) for _ in range(2000)]
    path = work / "ballots.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for n, token in enumerate(tokens):
            part = rng.uniform(*share)
            lenient = rng.gauss(0, 0.08)
            answers = {}
            for i in range(2000):
                if rng.random() >= part:
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


def setup(db: str, work: Path) -> list[str]:
    """A fresh round in ``db``: units, pool, the round and its panel; the seats' tokens."""
    units, pool, panel = generate(work)
    config = work / "pingyi.toml"
    config.write_text(CONFIG, encoding="utf-8")
    base = [*PINGYI, "--db", db, "--config", str(config)]
    for args in (["init"], ["import", "units", str(units)], ["import", "pool", str(pool)],
                 ["round", "create", ROUND, "--opens", "2026-10-01", "--closes", "2026-10-31"],
                 ["panel", "set", ROUND, str(panel)]):  # fmt: skip
        run([*base, *args])
    _, _, out = run([*base, "panel", "show", ROUND, "--json"])
    return [s["token"] for s in json.loads(out)["seats"]]


def with_tokens(ballots: Path, tokens: list[str], work: Path) -> Path:
    """The same ballots, line for line, carrying another round's seat tokens (a panel drawn
    again gets new tokens): the answers, ids and times stay as generated."""
    path = work / "ballots-again.jsonl"
    with ballots.open(encoding="utf-8") as src, path.open("w", encoding="utf-8") as out:
        for line, token in zip(src, tokens, strict=True):
            out.write(json.dumps({**json.loads(line), "token": token}, ensure_ascii=False) + "\n")
    return path


def checkpoint(base: str) -> None:
    """Have the server write out its dirty buffers before a timed step, so that no step pays for
    what the step before it left: 2.25 million rows fill PostgreSQL's 128 MB of shared buffers
    several times over, and a backend that needs a buffer writes a dirty one out first. Without
    it each ingest ran after the loader's COPY, and each loader after an ingest."""
    from sqlalchemy import create_engine, text

    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CHECKPOINT"))
    engine.dispose()


def summary(runs: list[tuple[float, float]]) -> dict:
    times = [t for t, _ in runs]
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "rss_mb": max(r for _, r in runs), "runs": len(runs)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument("--write", action="store_true", help="rewrite the RESULTS.md section")
    parser.add_argument("--share", nargs=2, type=float, default=SHARE, metavar=("LO", "HI"),
                        help="each ballot answers a share of the units in [LO, HI)")  # fmt: skip
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, float]]] = {}
    ratios: list[float] = []
    loads = [os.getloadavg()[0]]
    schemas: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            url, schema = _pg_schema_url(args.pg)
            schemas.append(schema)
            ballots = write_ballots(work, setup(url, work), share=tuple(args.share))
            config = work / "pingyi.toml"
            answers = sum(
                len(json.loads(line)["answers"]) for line in ballots.open(encoding="utf-8")
            )
            for n in range(args.repeat):  # loader, then ingest, each into a fresh schema
                loader_url, loader_schema = _pg_schema_url(args.pg)
                schemas.append(loader_schema)
                checkpoint(args.pg)
                loader = run(["benchmarks/province_baselines.py", "loader", str(ballots),
                              loader_url])  # fmt: skip
                rows.setdefault("loader: parse + COPY vote rows", []).append(loader[:2])
                source = ballots
                if n:
                    url, schema = _pg_schema_url(args.pg)
                    schemas.append(schema)
                    source = with_tokens(ballots, setup(url, work), work)
                checkpoint(args.pg)
                ingest = run([*PINGYI, "--db", url, "--config", str(config), "ingest", ROUND,
                              str(source), "--json"])  # fmt: skip
                assert json.loads(ingest[2])["accepted"] == 5000, ingest[2]
                rows.setdefault("pingyi ingest (PostgreSQL)", []).append(ingest[:2])
                ratios.append(ingest[0] / loader[0])
                print(f"pair {n + 1}: loader {loader[0]:.2f} s, ingest {ingest[0]:.2f} s, "
                      f"ratio {ratios[-1]:.2f}", file=sys.stderr, flush=True)  # fmt: skip
            for _ in range(args.repeat):
                for name, argv in (
                    ("limit: numpy", ["benchmarks/province_baselines.py", "numpy", str(ballots)]),
                    ("peer: pandas", ["benchmarks/province_baselines.py", "pandas", str(ballots)]),
                    ("pingyi rank --json (PostgreSQL)",
                     [*PINGYI, "--db", url, "--config", str(config), "rank", ROUND, "--json",
                      "--without-reliability"]),
                ):  # fmt: skip
                    checkpoint(args.pg)
                    t, rss, _ = run(argv)
                    rows.setdefault(name, []).append((t, rss))
    finally:
        for schema in schemas:
            _drop_schema(args.pg, schema)
    result: dict = {name: summary(runs) for name, runs in rows.items()}
    result["answers"] = answers
    result["pair_ratios"] = ratios
    result["load_average"] = [*loads, os.getloadavg()[0]]
    print(json.dumps(result, indent=2, ensure_ascii=False))
    section = format_section(result, " ".join(sys.argv[1:]))
    print(section)
    if args.write:
        write_section(section)


def format_section(s: dict, flags: str) -> str:
    limit = s["limit: numpy"]["median_s"]
    rank = s["pingyi rank --json (PostgreSQL)"]
    loader = s["loader: parse + COPY vote rows"]["median_s"]
    ingest = s["pingyi ingest (PostgreSQL)"]
    ratios = s["pair_ratios"]
    lines = [
        f"\n{HEADING}\n",
        f"Produced by `python benchmarks/province.py {flags}`".rstrip() + f" on "
        f"{datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, {os.cpu_count()} cores, 1-minute "
        f"load average {s['load_average'][0]:.1f} at the start and {s['load_average'][1]:.1f} at "
        f"the end): 2,000 units × 5,000 ballots, {s['answers']:,} answers; each step a fresh "
        "process after a `CHECKPOINT`, peak RSS its own VmHWM. The loader and `pingyi ingest` run "
        "in pairs, alternating, each into a fresh schema; both parse with the standard library's "
        "`json`. The rank rows alternate limit, peer, pingyi.\n",
        "| step | median | min–max | runs | peak RSS |\n|---|---|---|---|---|",
    ]
    for name, r in s.items():
        if name in ("answers", "pair_ratios", "load_average"):
            continue
        lines.append(f"| {name} | {r['median_s']:.2f} s | {r['min_s']:.2f}–{r['max_s']:.2f} s | "
                     f"{r['runs']} | {r['rss_mb']:.0f} MB |")  # fmt: skip
    lines.append(
        f"\nRatios: `rank` / numpy limit = {rank['median_s'] / limit:.2f} (bar ≤ 3, and ≤ 5 s: "
        f"{rank['median_s']:.2f} s, RSS {rank['rss_mb']:.0f} MB, bar ≤ 1 GB); `ingest` / "
        f"loader = {ingest['median_s'] / loader:.2f} on the medians, "
        f"{statistics.median(ratios):.2f} the median of the {len(ratios)} pairs "
        f"({min(ratios):.2f}–{max(ratios):.2f}) (bar ≤ 2; RSS {ingest['rss_mb']:.0f} MB, bar ≤ "
        f"500 MB; {s['answers'] / ingest['median_s']:,.0f} answers/s, bar ≥ 50,000).\n"
    )
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    replace_section(HEADING, section)


if __name__ == "__main__":
    main()
