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

WRK_SCRIPT = r"""
local requests = {}
local n = 0
init = function(args)
  for line in io.lines(args[1]) do
    local id, ts, sig, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)")
    n = n + 1
    requests[n] = wrk.format("POST", nil, {["webhook-id"] = id, ["webhook-timestamp"] = ts,
      ["webhook-signature"] = sig, ["content-type"] = "application/json"}, body)
  end
  i = 0
end
request = function()
  i = i + 1
  if i > n then i = 1 end
  return requests[i]
end
bad = 0
response = function(status, headers, body)
  if status ~= 202 and status ~= 200 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("NON2XX %d\n", summary.errors.status))
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
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rate": rate,
        "p50_ms": _percentile(out, "50%"),
        "p99_ms": _percentile(out, "99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
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


def bench_intake() -> dict:
    """The receiver paced at 500/s and at full speed, and the bare endpoint at full speed."""
    secret = new_secret()
    with schema() as db, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": db, "REDIS_URL": REDIS, "BENCH_SECRET": secret}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        tokens, codes = prepare(env, Path(tmp), seats=100)
        from redis import Redis

        Redis.from_url(REDIS).flushdb()
        results = {}
        with gunicorn(env) as base:
            url = base + "/hooks/bench"
            paced_set = signed(secret, 5000, tokens, codes, start=0)
            results["paced_500"] = paced(url, paced_set, 500)
            full = signed(secret, 60000, tokens, codes, start=100000)
            results["full"] = wrk(url, full, seconds=15)
        with gunicorn(env, app="benchmarks.bare_app:app") as base:
            results["bare"] = wrk(base + "/hooks/bench", full, seconds=15)
        Redis.from_url(REDIS).flushdb()
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
