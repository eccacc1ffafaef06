"""Prometheus metrics: deliveries, ballots by status, job durations, queue depths, and what
did not become a counted ballot (deliveries pending or failed, rejected ballots by reason).

Counters and histograms are written by whichever process does the work (gunicorn workers, RQ
work horses). With ``PROMETHEUS_MULTIPROC_DIR`` set for every process (``make serve`` sets it
before honcho starts the Procfile), they are shared through that directory; without it each
process reports only its own; ballots by status, queue depths and the failure gauges are read
from the database and Redis when ``/metrics`` is scraped, since those are the truth.
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

from service.store.status import OTHER, REASON_KINDS

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

    def __init__(
        self,
        ballots: Callable[[], dict[str, int]],
        depths: Callable[[], dict[str, int]],
        failures: Callable[[], dict | None] | None = None,
    ):
        self.ballots = ballots
        self.depths = depths
        self.failures = failures

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ballots = GaugeMetricFamily("pingyi_ballots", "Stored ballots by status", labels=["status"])
        for status, count in sorted(self.ballots().items()):
            ballots.add_metric([status], count)
        yield ballots
        queues = GaugeMetricFamily("pingyi_queue_depth", "Jobs waiting per queue", labels=["queue"])
        for name, count in sorted(self.depths().items()):
            queues.add_metric([name], count)
        yield queues
        found = self.failures() if self.failures is not None else None
        if found is not None:
            yield from _failure_metrics(found)


def _failure_metrics(found: dict) -> Iterator[GaugeMetricFamily]:
    """What did not become a counted ballot (``service.store.status.failure_counts``): every
    label overall, zeros included, so an alert can compare with 0; per round where non-zero."""
    inbox = GaugeMetricFamily(
        "pingyi_inbox_deliveries",
        "Webhook deliveries not ingested: pending, or failed (parked, see `pingyi inbox list`)",
        labels=["status"],
    )
    for status in ("pending", "failed"):
        inbox.add_metric([status], found["inbox"].get(status, 0))
    yield inbox
    rejected = GaugeMetricFamily(
        "pingyi_rejected_ballots", "Rejected ballots by kind of reason", labels=["reason"]
    )
    for kind in [k for k, _ in REASON_KINDS] + [OTHER]:
        rejected.add_metric([kind], found["rejected"].get(kind, 0))
    yield rejected
    round_inbox = GaugeMetricFamily(
        "pingyi_round_inbox_deliveries",
        "Webhook deliveries not ingested, per round",
        labels=["round", "status"],
    )
    round_rejected = GaugeMetricFamily(
        "pingyi_round_rejected_ballots",
        "Rejected ballots by kind of reason, per round",
        labels=["round", "reason"],
    )
    for entry in found["rounds"]:
        for status, count in sorted(entry["inbox"].items()):
            round_inbox.add_metric([entry["round"], status], count)
        for kind, count in sorted(entry["rejected"].items()):
            round_rejected.add_metric([entry["round"], kind], count)
    yield round_inbox
    yield round_rejected


def render(
    ballots: Callable[[], dict[str, int]],
    depths: Callable[[], dict[str, int]],
    failures: Callable[[], dict | None] | None = None,
) -> tuple[bytes, str]:
    """The exposition text for one scrape. ``failures`` returns ``failure_counts`` (or None
    when the database cannot be read: the gauges are left out rather than reported as 0)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        base = CollectorRegistry()
        multiprocess.MultiProcessCollector(base)
    else:
        base = REGISTRY  # this process's own counters (tests, single-process runs)
    scrape = CollectorRegistry()
    scrape.register(_ScrapeCollector(ballots, depths, failures))
    return generate_latest(base) + generate_latest(scrape), CONTENT_TYPE_LATEST
