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
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stack import REDIS, ROUND, gunicorn, new_secret, pingyi, prepare, schema, signed
from tests.connectors.tencent_wj.stand_in import APPID, SECRET, SURVEY, StandIn, make_answer

LABELS = ("满意", "满意", "基本满意", "不满意", "不了解")
THREADS = 16


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


def post_all(url: str, batch: list[tuple[str, dict, bytes]]) -> dict:
    """Send every (path, headers, body) from THREADS threads; the rate of 202 answers."""
    statuses: list[int] = []
    lock = threading.Lock()

    def run(share: list[tuple[str, dict, bytes]]) -> None:
        with requests.Session() as session:
            got = [session.post(url + p, data=b, headers=h, timeout=30).status_code
                   for p, h, b in share]  # fmt: skip
        with lock:
            statuses.extend(got)

    threads = [threading.Thread(target=run, args=(batch[i::THREADS],)) for i in range(THREADS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    accepted = statuses.count(202)
    return {"sent": len(statuses), "accepted": accepted, "seconds": round(elapsed, 3),
            "rate": round(accepted / elapsed, 1)}  # fmt: skip


def spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}  # fmt: skip


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
    runs: dict[str, list[dict]] = {"tencent_wj": [], "standard_webhooks": []}
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
            started = time.perf_counter()
            result = poll_source(engine, "tbench", config.rules, env)
            elapsed = time.perf_counter() - started
            assert result.error is None and result.new == args.answers, result
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
        from redis import Redis

        Redis.from_url(REDIS).flushdb()
        with gunicorn(env) as base:
            for r in range(args.repeats):
                offset = (r + 1) * 1_000_000
                sw = [("/hooks/bench", h, b)
                      for h, b in signed(secret, args.per_run, tokens, codes, start=offset)]  # fmt: skip
                headers = {"Content-Type": "application/json"}
                tw = [(hook, headers, envelope(offset + i)) for i in range(args.per_run)]
                order = [("standard_webhooks", sw), ("tencent_wj", tw)]
                for name, batch in order if r % 2 == 0 else order[::-1]:
                    runs[name].append(post_all(base, batch))
        Redis.from_url(REDIS).flushdb()
    for name, got in runs.items():
        rates = [x["rate"] for x in got]
        figures[f"receiver_{name}"] = {**spread(rates), "rates": rates,
                                       "accepted": [x["accepted"] for x in got]}  # fmt: skip
    ratios = [t["rate"] / s["rate"]
              for t, s in zip(runs["tencent_wj"], runs["standard_webhooks"], strict=True)]  # fmt: skip
    figures["receiver_ratio_tencent_wj_to_standard_webhooks"] = spread(ratios)
    figures["machine"] = {"cpus": os.cpu_count(), "threads": THREADS, "per_run": args.per_run}
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
