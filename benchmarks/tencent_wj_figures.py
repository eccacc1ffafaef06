"""Figures for the 腾讯问卷 platform, measured against the stand-in of
``tests/connectors/tencent_wj/`` (real HTTP on 127.0.0.1) and a fresh PostgreSQL schema:

- **idle poll**: the HTTP requests one poll makes when nothing is new, with the process's token
  still good and after a restart (no token held);
- **poll intake**: ballots per second from the stand-in into PostgreSQL through one poll
  (``jobs.poll.poll_source``: pages of 50 answers of 98 matrix rows each, rows and options read by
  their titles, judged, stored, settled);
- **push receiver**: accepted deliveries per second at ``/hooks/<source>/<key>`` under gunicorn
  with the production settings, paired with the Standard Webhooks receiver of the same server:
  the two alternate run by run, each run with deliveries never sent before, several repeats,
  medians and the spread. A 腾讯问卷 delivery is the documented envelope (the answer is re-read by
  the inbox worker, which is not running here: this measures verifying and storing). The load
  comes from Python threads, so both rates are bounded by the client too; the ratio of each pair
  is the comparable number on a shared machine.

The platform must be registered (``connectors/registry.py``): the script drives ``pingyi`` and
gunicorn as separate processes, as an office would. Run:
``.venv/bin/python benchmarks/tencent_wj_figures.py [--answers N] [--repeats N] [--per-run N]``.
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.platform_pushes import THREADS, paired_receivers, timed_poll
from benchmarks.stack import REDIS, ROUND, new_secret, pingyi, prepare, schema
from tests.connectors.tencent_wj.stand_in import APPID, SECRET, SURVEY, StandIn, make_answer

LABELS = ("满意", "满意", "基本满意", "不满意", "不了解")


def answers(tokens: list[str], codes: list[str], count: int) -> list[dict]:
    """``count`` answers, one matrix row per unit titled with its name (``单位U000``, …)."""
    out = []
    for i in range(count):
        rows = {f"单位{c}": LABELS[(i + j) % len(LABELS)] for j, c in enumerate(codes)}
        at = f"2026-10-{10 + i % 15:02d} {8 + i % 10:02d}:00:00"
        out.append(make_answer(i + 1, tokens[i % len(tokens)], at, rows))
    return out


def envelope(answer_id: int) -> bytes:
    body = {
        "id": str(uuid.uuid4()),
        "object": "Answer",
        "action": "answer.create",
        "created_at": "2026-10-28 09:00:00",
        "payload": {"survey_id": SURVEY, "answer_id": answer_id, "openid": "",
                    "started_at": "2026-10-28 08:55:00", "ended_at": "2026-10-28 09:00:00"},
    }  # fmt: skip
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
               "TWJ_SECRET": SECRET}  # fmt: skip
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        tokens, codes = prepare(env, Path(tmp), seats=max(100, args.answers))
        with StandIn(answers(tokens, codes, args.answers)) as site:
            added = pingyi(env, "source", "add", "tbench", "--kind", "tencent-wj", "--round",
                           ROUND, "--survey", str(SURVEY), "--appid", APPID, "--secret-env",
                           "TWJ_SECRET", "--url", site.url)  # fmt: skip
            hook = re.search(r"(/hooks/tbench/[0-9a-f]{32})", added).group(1)
            config, engine = load_config(env, database_url=db), make_engine(db)
            result, elapsed = timed_poll(engine, "tbench", config.rules, env, args.answers)
            figures["poll_intake"] = {
                "answers": args.answers, "units": len(codes), "pages": result.pages,
                "seconds": round(elapsed, 2), "ballots_per_second": round(args.answers / elapsed, 1),
            }  # fmt: skip
            before = len(site.calls)
            idle = poll_source(engine, "tbench", config.rules, env)
            figures["idle_poll"] = {"requests": len(site.calls) - before, "calls": idle.calls}
            before = len(site.calls)
            pingyi(env, "poll", "tbench")  # a process of its own: no token held yet
            figures["idle_poll_new_process"] = {"requests": len(site.calls) - before,
                                                "calls": site.calls[before:]}  # fmt: skip
        headers = {"Content-Type": "application/json"}
        figures.update(paired_receivers(
            env, secret, tokens, codes, "tencent_wj",
            lambda offset: [(hook, headers, envelope(offset + i)) for i in range(args.per_run)],
            args.repeats, args.per_run,
        ))  # fmt: skip
    figures["machine"] = {"cpus": os.cpu_count(), "threads": THREADS, "per_run": args.per_run}
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
