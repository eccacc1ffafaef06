"""What the three platform figure scripts (``benchmarks/*_figures.py``) measure alike: a timed
poll from a stand-in into PostgreSQL, and a platform's push receiver paired with the Standard
Webhooks one on the same gunicorn (runs alternate, every delivery new, medians and spread).

The load comes from Python threads, so both receivers' rates are bounded by the client too; the
ratio of each pair is the comparable figure.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

import requests

from benchmarks.stack import REDIS, gunicorn, signed

THREADS = 16
Batch = list[tuple[str, dict, bytes]]  # (path, headers, body) of each request


def post_all(url: str, batch: Batch, threads: int = THREADS) -> dict:
    """Send every request of ``batch`` from ``threads`` threads; the rate of 202 answers."""
    statuses: list[int] = []
    lock = threading.Lock()

    def run(share: Batch) -> None:
        with requests.Session() as session:
            got = [session.post(url + p, data=b, headers=h, timeout=30).status_code
                   for p, h, b in share]  # fmt: skip
        with lock:
            statuses.extend(got)

    workers = [threading.Thread(target=run, args=(batch[i::threads],)) for i in range(threads)]
    started = time.perf_counter()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    elapsed = time.perf_counter() - started
    accepted = statuses.count(202)
    return {"sent": len(statuses), "accepted": accepted, "seconds": round(elapsed, 3),
            "rate": round(accepted / elapsed, 1)}  # fmt: skip


def spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}  # fmt: skip


def timed_poll(engine, name: str, rules, env: dict, expected: int) -> tuple[object, float]:
    """One ``poll_source`` of source ``name`` that must bring ``expected`` new ballots; the
    result and its seconds."""
    from jobs.poll import poll_source

    started = time.perf_counter()
    result = poll_source(engine, name, rules, env)
    elapsed = time.perf_counter() - started
    assert result.error is None and result.new == expected, result
    return result, elapsed


def paired_receivers(
    env: dict,
    secret: str,
    tokens: list[str],
    codes: list[str],
    name: str,
    pushes: Callable[[int], Batch],
    repeats: int,
    per_run: int,
) -> dict:
    """``repeats`` pairs of runs, alternating which goes first: ``per_run`` Standard Webhooks
    deliveries to ``/hooks/bench`` against ``pushes(offset)`` of the platform. Figures keyed
    ``receiver_<kind>`` and ``receiver_ratio_<name>_to_standard_webhooks``."""
    from redis import Redis

    runs: dict[str, list[dict]] = {name: [], "standard_webhooks": []}
    Redis.from_url(REDIS).flushdb()  # the benchmark's own Redis database number
    with gunicorn(env) as base:
        for r in range(repeats):
            offset = (r + 1) * 1_000_000
            sw = [("/hooks/bench", h, b)
                  for h, b in signed(secret, per_run, tokens, codes, start=offset)]  # fmt: skip
            order = [("standard_webhooks", sw), (name, pushes(offset))]
            for kind, batch in order if r % 2 == 0 else order[::-1]:
                runs[kind].append(post_all(base, batch))
    Redis.from_url(REDIS).flushdb()
    figures = {}
    for kind, got in runs.items():
        rates = [x["rate"] for x in got]
        figures[f"receiver_{kind}"] = {**spread(rates), "rates": rates,
                                       "accepted": [x["accepted"] for x in got]}  # fmt: skip
    ratios = [p["rate"] / s["rate"]
              for p, s in zip(runs[name], runs["standard_webhooks"], strict=True)]  # fmt: skip
    figures[f"receiver_ratio_{name}_to_standard_webhooks"] = spread(ratios)
    return figures
