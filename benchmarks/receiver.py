"""The receiver under load (docs/service.md, "Webhook intake"): signed Standard Webhooks deliveries
against gunicorn + PostgreSQL, at full speed with ``wrk`` (pre-signed requests from a file, so
the load generator does no crypto) and paced at 500/s by an open-loop generator (latency measured
from each request's scheduled time), next to a bare Flask endpoint on the same gunicorn settings
as the ceiling; and the two verifiers of ``benchmarks/verifiers.py`` compared on that path.

Run: ``.venv/bin/python benchmarks/receiver.py [--compare-verifiers] [--repeats N]`` (needs wrk:
``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stack import REDIS, ROUND, gunicorn, new_secret, prepare, schema, signed

# Each wrk thread has a Lua state of its own and runs ``init`` on its own: every thread takes
# the lines whose number is its id modulo the thread count, so no delivery is sent by two
# threads. A thread that runs out starts its share again (``wrapped``) and those repeats are
# answered 200 as duplicates: both are counted and reported, so a run with repeats shows it.
WRK_SCRIPT = r"""
local threads = {}
setup = function(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
init = function(args)
  local count = tonumber(args[2])
  requests, n, i, dups, wrapped = {}, 0, 0, 0, 0
  local k = 0
  for line in io.lines(args[1]) do
    if k % count == id then
      local did, ts, sig, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)")
      n = n + 1
      requests[n] = wrk.format("POST", nil, {["webhook-id"] = did, ["webhook-timestamp"] = ts,
        ["webhook-signature"] = sig, ["content-type"] = "application/json"}, body)
    end
    k = k + 1
  end
end
request = function()
  i = i + 1
  if i > n then i = 1; wrapped = wrapped + 1 end
  return requests[i]
end
response = function(status, headers, body)
  if status == 200 then dups = dups + 1 end
end
done = function(summary, latency, requests)
  local d, w = 0, 0
  for _, t in ipairs(threads) do
    d = d + t:get("dups")
    w = w + t:get("wrapped")
  end
  io.write(string.format("DUPLICATES %d\nWRAPPED %d\n", d, w))
end
"""


def wrk(
    url: str,
    deliveries: list[tuple[dict, bytes]],
    seconds: int,
    threads: int = 2,
    connections: int = 32,
) -> dict:
    """Full-speed load with wrk; each request is a distinct pre-signed delivery (wrk cycles
    threads over the same file, so each thread sends its own share from the start)."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "requests.tsv"
        data.write_text(
            "".join(
                f"{h['webhook-id']}\t{h['webhook-timestamp']}\t{h['webhook-signature']}\t{b.decode()}\n"
                for h, b in deliveries
            ),
            encoding="utf-8",
        )
        script = Path(tmp) / "load.lua"
        script.write_text(WRK_SCRIPT, encoding="utf-8")
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                url,
                "--",
                str(data),
                str(threads),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sent = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "rate": rate,
        "requests": sent,
        "p50_ms": _percentile(out, "50%"),
        "p99_ms": _percentile(out, "99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        # 200 = a delivery already stored: on a run where nothing was sent twice, zero.
        "duplicates": int(re.search(r"DUPLICATES (\d+)", out).group(1)),
        "wrapped": int(re.search(r"WRAPPED (\d+)", out).group(1)),
    }


def _percentile(out: str, label: str) -> float:
    """A latency percentile of wrk's ``--latency`` table, in milliseconds."""
    found = re.search(label + r"\s+([\d.]+)(us|ms|s)", out)
    return float(found.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[found.group(2)]


def paced(url: str, deliveries: list[tuple[dict, bytes]], rate: float, threads: int = 32) -> dict:
    """Open-loop load at ``rate``/s; latency counts from the scheduled send time, so a stall
    shows up in the percentiles instead of silently slowing the generator down. Plain
    ``http.client`` (gunicorn's sync workers close each connection anyway) keeps the
    generator's own CPU, on the same two cores, small."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.5

    def run(offset: int) -> None:
        for k in range(offset, len(deliveries), threads):
            due = start + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            headers, body = deliveries[k]
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            conn.request("POST", parts.path, body=body, headers=headers)
            status = conn.getresponse().status
            conn.close()
            done = time.perf_counter()
            with lock:
                latencies.append((done - due) * 1000)
                statuses.append(status)

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    latencies.sort()
    return {
        "rate": rate,
        "requests": len(latencies),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
        "max_ms": latencies[-1],
        "non_202": sum(1 for s in statuses if s != 202),
    }


def bench_intake(repeats: int = 3, seconds: int = 10, per_run: int = 60_000) -> dict:
    """The receiver paced at 500/s; then the receiver and the bare endpoint at full speed,
    paired: both servers up at once, runs alternating (intake, bare, intake, bare, …) so the
    machine's other load falls on both, and each intake run sends deliveries never sent before
    (a repeat is a duplicate, answered 200 from a cheaper path, and would flatter the intake).
    Returns the medians, each run, and the ratio of each pair."""
    secret = new_secret()
    with schema() as db, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": db, "REDIS_URL": REDIS, "BENCH_SECRET": secret}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        tokens, codes = prepare(env, Path(tmp), seats=100)
        from redis import Redis

        Redis.from_url(REDIS).flushdb()
        results: dict = {}
        runs: dict[str, list[dict]] = {"full": [], "bare": []}
        with gunicorn(env) as base, gunicorn(env, app="benchmarks.bare_app:app") as bare_base:
            url = base + "/hooks/bench"
            paced_set = signed(secret, 5000, tokens, codes, start=0)
            results["paced_500"] = paced(url, paced_set, 500)
            for r in range(repeats):
                fresh = signed(secret, per_run, tokens, codes, start=(r + 1) * 1_000_000)
                runs["full"].append(wrk(url, fresh, seconds=seconds))
                runs["bare"].append(wrk(bare_base + "/hooks/bench", fresh, seconds=seconds))
        Redis.from_url(REDIS).flushdb()
    for name, got in runs.items():
        median = statistics.median(x["rate"] for x in got)
        results[name] = {
            **min(got, key=lambda x: abs(x["rate"] - median)),
            "rate": median,
            "rates": [x["rate"] for x in got],
            "duplicates": sum(x["duplicates"] for x in got),
            "wrapped": sum(x["wrapped"] for x in got),
        }
    ratios = [f["rate"] / b["rate"] for f, b in zip(runs["full"], runs["bare"], strict=True)]
    results["ratios"] = ratios
    results["ratio"] = statistics.median(ratios)
    results["seconds"], results["repeats"] = seconds, repeats
    return results


def verify_cost(blocks: int = 40, per_block: int = 1000) -> dict:
    """Microseconds per verification of one signed 98-unit ballot, in this process: the two
    verifiers timed in alternating blocks, so that the machine's other load falls on both."""
    from benchmarks.stack import ballot
    from benchmarks.verifiers import handwritten_verifier
    from connectors.base import SourceSettings, WebhookRequest
    from connectors.registry import platform
    from connectors.signatures import sign_headers

    secret = new_secret()
    settings = SourceSettings("bench", {"secret_env": "S"}, {"secret": "S"}, {"secret": secret})
    body = ballot(1, "t" * 43, [f"U{i:03d}" for i in range(98)])
    headers = {**sign_headers(secret, "msg_1", int(time.time()), body), "user-agent": ""}
    request = WebhookRequest(headers, body)
    webhooks = platform("standard-webhooks").webhooks
    assert webhooks is not None
    verifiers = {
        "library": webhooks.verifier(settings),
        "handwritten": handwritten_verifier(settings),
    }
    times: dict[str, list[float]] = {name: [] for name in verifiers}
    for block in range(blocks):
        order = list(verifiers) if block % 2 == 0 else list(reversed(verifiers))
        for name in order:
            accept = verifiers[name]
            started = time.perf_counter()
            for _ in range(per_block):
                accept(request)
            times[name].append((time.perf_counter() - started) / per_block * 1e6)
    out = {}
    for name, got in times.items():
        q = statistics.quantiles(got, n=4)
        out[name] = {"median_us": statistics.median(got), "q1_us": q[0], "q3_us": q[2]}
    return out


def compare_verifiers(repeats: int = 6, seconds: int = 8) -> dict:
    """Both verifiers in one server, full speed, alternating (AB, BA, …) so that drift in the
    machine or the growing inbox table falls on both alike; medians and the spread per verifier.
    """
    from benchmarks.verifiers import HANDWRITTEN
    from service.models.sources import Source
    from service.store.engine import make_engine, session_scope, utcnow

    secret = new_secret()
    runs: dict[str, list[dict]] = {"library": [], "handwritten": []}
    with schema() as db, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": db, "REDIS_URL": REDIS, "BENCH_SECRET": secret}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        tokens, codes = prepare(env, Path(tmp), seats=100)
        engine = make_engine(db)
        with session_scope(engine) as session:  # the CLI knows no benchmark-only kind
            session.add(
                Source(name="bench-hw", kind=HANDWRITTEN, round_id=ROUND, mapping={},
                       config={"secret_env": "BENCH_SECRET"}, created_at=utcnow())
            )  # fmt: skip
        engine.dispose()
        from redis import Redis

        Redis.from_url(REDIS).flushdb()
        with gunicorn(env, app="benchmarks.verifiers:create_app()") as base:
            for n in range(repeats):
                order = ("library", "handwritten") if n % 2 == 0 else ("handwritten", "library")
                for name in order:
                    source = "bench" if name == "library" else "bench-hw"
                    start = 1_000_000 * (1 + n) + (0 if name == "library" else 500_000)
                    deliveries = signed(secret, 40000, tokens, codes, start=start)
                    runs[name].append(wrk(f"{base}/hooks/{source}", deliveries, seconds=seconds))
        Redis.from_url(REDIS).flushdb()
    summary = {}
    for name, got in runs.items():
        rates = [r["rate"] for r in got]
        p99s = [r["p99_ms"] for r in got]
        summary[name] = {
            "runs": len(got),
            "rate_median": statistics.median(rates),
            "rate_min": min(rates),
            "rate_max": max(rates),
            "p50_ms_median": statistics.median(r["p50_ms"] for r in got),
            "p99_ms_median": statistics.median(p99s),
            "p99_ms_min": min(p99s),
            "p99_ms_max": max(p99s),
            "non_2xx": sum(r["non_2xx"] for r in got),
        }
    ratio = [
        a["rate"] / b["rate"] for a, b in zip(runs["library"], runs["handwritten"], strict=True)
    ]
    summary["library_over_handwritten"] = {
        "median": statistics.median(ratio), "min": min(ratio), "max": max(ratio),
        "pairs": [round(r, 3) for r in ratio],
        "pairs_library_slower": sum(1 for r in ratio if r < 1),
    }  # fmt: skip
    summary["verify_cost"] = verify_cost()
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-verifiers", action="store_true")
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    if args.compare_verifiers:
        print(json.dumps(compare_verifiers(args.repeats, args.seconds), indent=2))
    else:
        print(json.dumps(bench_intake(), indent=2))
