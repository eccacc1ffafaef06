"""What staff see of a running service: queues, workers, sources, open rounds' progress, and
what did not become a counted ballot (``failures``: deliveries pending or failed, rejected
ballots by kind of reason, overall and per round).

Counts only — seats, ballots, valid ballots — never who voted. The counts are the store's
(``service.store.status``); the queues and workers are asked here.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.queue import JobQueue
from service.store.engine import as_utc
from service.store.results import latest_circular_versions
from service.store.rounds import list_rounds, open_parts
from service.store.status import failure_counts, round_progress, sources_status


def _workers(queue: JobQueue) -> int | None:
    if queue.inline:
        return None
    try:
        from rq import Worker

        return Worker.count(connection=queue.redis)
    except Exception:
        return None


def service_status(session: Session, queue: JobQueue) -> dict:
    try:
        depths = queue.depths()
    except Exception:
        depths = None
    latest = latest_circular_versions(session)
    return {
        "queues": depths,
        "workers": _workers(queue),
        "redis": queue.ping(),
        "sources": sources_status(session),
        "rounds": [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "parts": list(r.parts or ()),
                "waiting_for": open_parts(session, r),
                "closes_at": None if r.closes_at is None else as_utc(r.closes_at).isoformat(),
                "progress": round_progress(session, r.id),
                "circular_version": latest.get(r.id),
            }
            for r in list_rounds(session, status="open")
        ],
        "failures": failure_counts(session),
    }
