"""Prometheus metrics: deliveries, ballots by status, job durations, queue depths.

Counters and histograms are written by whichever process does the work (gunicorn workers, RQ
work horses). With ``PROMETHEUS_MULTIPROC_DIR`` set for every process (``make serve`` sets it
before honcho starts the Procfile), they are shared through that directory; without it each
process reports only its own; ballots by status and queue depths are read from the
database and Redis when ``/metrics`` is scraped, since those are the truth.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

DELIVERIES = Counter(
    "pingyi_webhook_deliveries_total",
    "Webhook deliveries by outcome (stored, duplicate, rejected, malformed, ignored, unknown_source)",
    ["outcome"],
)
INBOX_FAILURES = Counter(
    "pingyi_inbox_failures_total",
    "Failed ingest attempts of inbox deliveries, by outcome: retried later, or failed (parked)",
    ["outcome"],
)
JOB_SECONDS = Histogram(
    "pingyi_job_duration_seconds",
    "Duration of background jobs",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)


class _ScrapeCollector:
    """Reads current values from the database and Redis at scrape time."""

    def __init__(self, ballots: Callable[[], dict[str, int]], depths: Callable[[], dict[str, int]]):
        self.ballots = ballots
        self.depths = depths

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ballots = GaugeMetricFamily("pingyi_ballots", "Stored ballots by status", labels=["status"])
        for status, count in sorted(self.ballots().items()):
            ballots.add_metric([status], count)
        yield ballots
        queues = GaugeMetricFamily("pingyi_queue_depth", "Jobs waiting per queue", labels=["queue"])
        for name, count in sorted(self.depths().items()):
            queues.add_metric([name], count)
        yield queues


def render(
    ballots: Callable[[], dict[str, int]], depths: Callable[[], dict[str, int]]
) -> tuple[bytes, str]:
    """The exposition text for one scrape."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        base = CollectorRegistry()
        multiprocess.MultiProcessCollector(base)
    else:
        base = REGISTRY  # this process's own counters (tests, single-process runs)
    scrape = CollectorRegistry()
    scrape.register(_ScrapeCollector(ballots, depths))
    return generate_latest(base) + generate_latest(scrape), CONTENT_TYPE_LATEST
