"""The reliability report's bootstrap (docs/reliability.md), B = 2000. Bars: a county round
(100 ballots × 98 units) ≤ 2 s; a province round (5,000 ballots × 2,000 units, each ballot
answering 30–60% of the units) ≤ 60 s.

Timed: ``jobs.reliability.analysis.analyse`` on ballots already in memory (the store's part is
the ranking's load, measured in benchmarks/run.py), i.e. the vote matrix, the 2,000 resamples,
ranks, intervals, P(bottom), the confirmed/tied verdicts, the adjusted scores, ICC(2,k) per system
and the ballot-quality checks. Paired with a baseline in the same run: the same resamples' plain
means by one numpy matrix product (what any bootstrap of means costs), so the figure can be read
on a machine that is busier or quieter than this one.

Run: ``.venv/bin/python benchmarks/reliability.py [--repeat N] [--province-repeat N]``; it
rewrites its own section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results_file import replace_section
from jobs.reliability.analysis import analyse
from jobs.reliability.votes import vote_matrix
from jobs.scoring import Answer, BallotInput, SeatInfo, UnitInfo, compute_ranking
from service.rules import Rules

HEADING = "## Reliability report (issue #12)"
SYSTEMS = ["法院", "检察院", "公安局", "司法局"]
GROUPS = ["人大代表", "政协委员", "乡镇政法委员", "乡村干部", "市场主体代表"]
POINTS = {"满意": Fraction(100), "基本满意": Fraction(70), "不满意": Fraction(30)}
AT = datetime(2026, 10, 20, tzinfo=UTC)


def make_round(n_ballots: int, n_units: int, share: tuple[float, float], seed: int):
    """A round of label answers; each evaluator answers a share of the units, 不了解 elsewhere."""
    rng = random.Random(seed)
    units = [UnitInfo(f"U{i:04d}", f"单位{i}", SYSTEMS[i % 4]) for i in range(n_units)]
    quality = {u.code: rng.uniform(0.4, 0.9) for u in units}
    seats = [SeatInfo(f"t{i:05d}", GROUPS[i % 5]) for i in range(n_ballots)]
    ballots = []
    for seat in seats:
        p = rng.uniform(*share)
        lenient = rng.gauss(0, 0.08)
        answers = {}
        for u in units:
            if rng.random() > p:
                continue
            x = quality[u.code] + lenient + rng.gauss(0, 0.15)
            label = "满意" if x > 0.8 else "基本满意" if x > 0.45 else "不满意"
            answers[u.code] = {"总体": Answer(label, POINTS[label])}
        ballots.append(BallotInput(f"k{seat.token}", seat.token, AT, answers))
    rules = Rules(min_coverage=Fraction(1, 4))
    result = compute_ranking(units, seats, ballots, [], rules, SYSTEMS).to_json("b", "monthly")
    return units, seats, ballots, result, rules


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(name: str, args: tuple, repeat: int) -> dict:
    units, seats, ballots, result, rules = make_round(*args)
    m = vote_matrix(units, seats, ballots, rules)
    runs, baseline = [], []
    for r in range(repeat):  # alternate: baseline, report, baseline, report, …
        rng = np.random.default_rng(r)
        start = time.perf_counter()
        counts = rng.multinomial(len(m.votes), np.full(len(m.votes), 1 / len(m.votes)),
                                 size=2000).astype(np.float32)  # fmt: skip
        present = (~np.isnan(m.votes)).astype(np.float32)
        sums = counts @ np.nan_to_num(m.votes).astype(np.float32)
        _ = sums / np.maximum(counts @ present, 1)
        baseline.append(time.perf_counter() - start)
        start = time.perf_counter()
        report, _flags = analyse(units, seats, ballots, result, rules, 1000 + r, "bench")
        runs.append(time.perf_counter() - start)
    answers = int((~np.isnan(m.votes)).sum())
    return {
        "name": name,
        "ballots": len(m.votes),
        "units": len(units),
        "answers": answers,
        "median_s": statistics.median(runs),
        "min_s": min(runs),
        "max_s": max(runs),
        "baseline_median_s": statistics.median(baseline),
        "runs": repeat,
        "peak_rss_mb": _rss_mb(),
        "tied": sum(1 for v in report["bottom_confidence"].values() if v == "tied"),
    }


def write_section(rows: list[dict], command: str) -> None:
    lines = [
        f"\n{HEADING}\n",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, "
        "2 cores, shared and noisy). B = 2000, the whole report (vote matrix, resamples, ranks, "
        "intervals, verdicts, adjusted scores, ICC, quality checks) on ballots in memory. "
        "Baseline, paired and alternating in the same run: the plain means of the same number "
        "of resamples by one numpy product.\n",
        "| round | ballots × units (answers) | bar | median | min–max | baseline median | "
        "peak RSS |\n|---|---|---|---|---|---|---|",
    ]
    bars = {"county": "≤ 2 s", "province": "≤ 60 s"}
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['ballots']:,} × {r['units']:,} ({r['answers']:,}) | "
            f"{bars[r['name']]} | {r['median_s']:.2f} s | {r['min_s']:.2f}–{r['max_s']:.2f} s "
            f"({r['runs']} runs) | {r['baseline_median_s']:.3f} s | {r['peak_rss_mb']:.0f} MB |"
        )
    replace_section(HEADING, "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--province-repeat", type=int, default=2)
    parser.add_argument("--no-province", action="store_true")
    args = parser.parse_args()
    rows = [bench("county", (100, 98, (0.65, 0.95), 1), args.repeat)]
    if not args.no_province:
        rows.append(bench("province", (5000, 2000, (0.3, 0.6), 2), args.province_repeat))
    print(json.dumps(rows, indent=2))
    command = "python benchmarks/reliability.py " + " ".join(sys.argv[1:])
    write_section(rows, command.strip())


if __name__ == "__main__":
    main()
