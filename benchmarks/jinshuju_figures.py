"""Figures for the 金数据 platform, against the stand-in of ``tests/connectors/jinshuju/`` (real
HTTP on 127.0.0.1) and a fresh PostgreSQL schema:

- **idle poll**: the requests one ``pingyi poll`` makes when nothing is new;
- **poll intake**: ballots per second from the stand-in into PostgreSQL through one poll
  (``jobs.poll.poll_source``: HTTP pages of 50, mapping by titles, judging, storing, settling),
  with ``--entries`` entries of 98 units each;
- **push receiver**: accepted deliveries per second at ``/hooks/<source>/<key>`` under gunicorn
  with the production settings, paired with the Standard Webhooks receiver of the same server
  (runs alternate, each with deliveries never sent before; 98-unit bodies both), several
  repeats, medians and the spread. The load comes from Python threads (``wrk`` is not needed),
  so both figures are bounded by the client too; the ratio is the comparable number.

Run: ``.venv/bin/python benchmarks/jinshuju_figures.py [--entries N] [--repeats N]``. Prints JSON.
``pingyi`` and gunicorn run as processes of their own, so the ``jinshuju`` kind must be listed in
``connectors/registry.py``; it needs PostgreSQL and Redis as ``benchmarks/stack.py`` says.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.platform_pushes import THREADS, paired_receivers, timed_poll
from benchmarks.stack import REDIS, ROUND, new_secret, pingyi, prepare, schema
from tests.connectors.jinshuju.stand_in import FORM, KEY, SECRET, StandIn, make_entry

LABELS = ("满意", "满意", "满意", "基本满意", "不满意", "不了解")


def form_schema(codes: list[str]) -> dict:
    """A form whose one 矩阵单选 has a row per unit, titled as ``stack.prepare`` names them."""
    statements = [{"name": f"单位{c}", "value": f"s{c}"} for c in codes]
    choices = [{"name": label, "value": f"c{i}"} for i, label in enumerate(LABELS[2:])]
    field = {"label": "评价", "type": "likert", "statements": statements, "choices": choices}
    return {"name": "bench", "fields": [{"field_1": field}], "setting": {}}


def entries(tokens: list[str], codes: list[str], count: int, start: int = 1) -> list[dict]:
    out = []
    for i in range(count):
        rows = {f"单位{c}": LABELS[(i + j) % len(LABELS)] for j, c in enumerate(codes)}
        at = f"2026-10-{10 + i % 15:02d}T0{i % 8}:00:00.000Z"
        out.append(make_entry(start + i, tokens[i % len(tokens)], rows, at=at))
    return out


def jinshuju_pushes(path: str, tokens: list[str], codes: list[str], n: int, start: int) -> list:
    headers = {"Content-Type": "application/json", "X-Requested-By": "jinshuju"}
    return [
        (path, headers, json.dumps({"form": FORM, "form_name": "bench", "entry": e},
                                   ensure_ascii=False).encode())
        for e in entries(tokens, codes, n, start)
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--per-run", type=int, default=2000)
    args = parser.parse_args()
    from jobs.poll import poll_source
    from service.config import load_config
    from service.store.engine import make_engine

    secret = new_secret()
    figures: dict = {}
    with schema() as db, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": db, "REDIS_URL": REDIS, "BENCH_SECRET": secret,
               "JS_KEY": KEY, "JS_SECRET": SECRET}  # fmt: skip
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        tokens, codes = prepare(env, Path(tmp), seats=max(100, args.entries))
        with StandIn(entries(tokens, codes, args.entries), schema=form_schema(codes)) as site:
            added = pingyi(env, "source", "add", "jbench", "--kind", "jinshuju", "--round", ROUND,
                           "--form", FORM, "--key-env", "JS_KEY", "--secret-env", "JS_SECRET",
                           "--url", site.url)  # fmt: skip
            hook = re.search(r"(/hooks/jbench/[0-9a-f]{32})", added).group(1)
            config = load_config(env, database_url=db)
            engine = make_engine(db)
            result, elapsed = timed_poll(engine, "jbench", config.rules, env, args.entries)
            figures["poll_intake"] = {
                "entries": args.entries, "pages": result.pages, "seconds": round(elapsed, 2),
                "ballots_per_second": round(args.entries / elapsed, 1),
            }  # fmt: skip
            before = len(site.calls)
            idle = poll_source(engine, "jbench", config.rules, env)
            figures["idle_poll"] = {"requests": len(site.calls) - before, "calls": idle.calls,
                                    "new": idle.new}  # fmt: skip
            figures.update(paired_receivers(
                env, secret, tokens, codes, "jinshuju",
                lambda offset: jinshuju_pushes(hook, tokens, codes, args.per_run, offset),
                args.repeats, args.per_run,
            ))  # fmt: skip
    figures["machine"] = {"cpus": os.cpu_count(), "threads": THREADS, "per_run": args.per_run}
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
