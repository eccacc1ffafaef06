"""Figures for the 问卷星 platform, measured against the OpenAPI stand-in of
``tests/connectors/wenjuanxing/`` (real HTTP on 127.0.0.1) and a fresh PostgreSQL schema:

- **idle poll**: the HTTP requests one poll makes when nothing is new;
- **poll intake**: ballots per second from the stand-in into PostgreSQL through one poll
  (``jobs.poll.poll_source``: pages of 50 answers of 98 matrix rows each, positions read through
  the mapping built from a structure file, judged, stored, settled);
- **push receiver**: accepted signed pushes per second at ``/hooks/<source>`` under gunicorn with
  the production settings, paired with the Standard Webhooks receiver of the same server: the two
  alternate run by run, each run with deliveries never sent before, several repeats, medians and
  the spread. Each push carries 98 matrix rows (what a county month's answer is). The inbox worker
  is not running: this measures verifying and storing. The load comes from Python threads, so both
  rates are bounded by the client too; the ratio of each pair is the comparable number.

The platform must be registered (``connectors/registry.py``): the script drives ``pingyi`` and
gunicorn as separate processes, as an office would. Run:
``.venv/bin/python benchmarks/wenjuanxing_figures.py [--answers N] [--repeats N] [--per-run N]``.
Prints JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.platform_pushes import THREADS, paired_receivers, timed_poll
from benchmarks.stack import REDIS, ROUND, new_secret, pingyi, prepare, schema
from tests.connectors.wenjuanxing.fake_wjx import APP_ID, APP_KEY, FakeWjx

ACTIVITY = 5657754
PUSH_KEY = "bench-push-key"
LABELS = ("满意", "基本满意", "不满意", "不了解")


def structure(codes: list[str]) -> dict[str, str]:
    """One matrix question q1 whose rows are the units, titled by code; columns the scale."""
    data = {"q1": "请评价以下单位"}
    for r, code in enumerate(codes, start=1):
        data[f"q1_{r}"] = code
        data.update({f"q1_{r}#{p}": label for p, label in enumerate(LABELS, start=1)})
    return data


def api_answer(i: int, token: str, units: int) -> dict:
    items = {str(10000 + r): {"q_index": 1, "q_row": r, "item_index": [1 + (i + r) % 4],
                              "item_value": "", "answer_text": ""} for r in range(1, units + 1)}  # fmt: skip
    return {"index": i, "jid": 900000000 + i, "submit_time": "2026-10-28 09:00:00",
            "sojumpparm": token, "answer_items": items}  # fmt: skip


def push(i: int, token: str, units: int) -> bytes:
    """A signed push as 问卷星 sends it (sign = sha1(activity + index + key))."""
    body = {"activity": str(ACTIVITY), "index": str(i), "joinid": str(900000000 + i),
            "submittime": "2026-10-28 09:00:00", "sojumpparm": token}  # fmt: skip
    body.update({f"q1_{r}": str(1 + (i + r) % 4) for r in range(1, units + 1)})
    body["sign"] = hashlib.sha1(f"{ACTIVITY}{i}{PUSH_KEY}".encode()).hexdigest()
    return json.dumps(body, ensure_ascii=False).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1000)
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
               "WJX_PUSH": PUSH_KEY, "WJX_APP": APP_KEY}  # fmt: skip
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        tokens, codes = prepare(env, Path(tmp), seats=max(100, args.answers))
        (Path(tmp) / "structure.json").write_text(json.dumps(structure(codes)), encoding="utf-8")
        answers = [api_answer(i, tokens[i - 1], len(codes)) for i in range(1, args.answers + 1)]
        with FakeWjx(ACTIVITY, answers) as site:
            pingyi(env, "source", "add", "wbench", "--kind", "wenjuanxing", "--round", ROUND,
                   "--activity", str(ACTIVITY), "--secret-env", "WJX_PUSH", "--structure",
                   str(Path(tmp) / "structure.json"), "--app-id", APP_ID, "--app-key-env",
                   "WJX_APP", "--url", site.url)  # fmt: skip
            config, engine = load_config(env, database_url=db), make_engine(db)
            result, elapsed = timed_poll(engine, "wbench", config.rules, env, args.answers)
            figures["poll_intake"] = {
                "answers": args.answers, "units": len(codes), "pages": result.pages,
                "seconds": round(elapsed, 2), "ballots_per_second": round(args.answers / elapsed, 1),
            }  # fmt: skip
            before = len(site.requests)
            idle = poll_source(engine, "wbench", config.rules, env)
            figures["idle_poll"] = {"requests": len(site.requests) - before, "calls": idle.calls}
        headers = {"Content-Type": "application/json"}
        figures.update(paired_receivers(
            env, secret, tokens, codes, "wenjuanxing",
            lambda offset: [("/hooks/wbench", headers,
                             push(offset + i, tokens[i % len(tokens)], len(codes)))
                            for i in range(args.per_run)],
            args.repeats, args.per_run,
        ))  # fmt: skip
    figures["machine"] = {"cpus": os.cpu_count(), "threads": THREADS, "per_run": args.per_run}
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
