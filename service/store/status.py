"""What staff see of rounds and sources: counts and last contacts, never who voted.

Read by the API's round and status views, the staff page and ``/metrics``: among them what did
not become a counted ballot (deliveries pending or failed, rejected ballots by kind of reason),
so that a lost vote is seen where staff look.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from service.models.ballots import Ballot
from service.models.inbox import InboxDelivery
from service.models.sources import Source
from service.store.ballots import REJECTED, status_counts
from service.store.engine import as_utc
from service.store.rounds import count_active_seats


def round_progress(session: Session, round_id: str) -> dict:
    """seats (active), ballots (seats with an accepted ballot), valid ballots, rejected ones."""
    seats = count_active_seats(session, round_id)
    counts = status_counts(session, round_id)
    return {
        "seats": seats,
        "ballots": counts.get("accepted", 0) + counts.get("invalid", 0),
        "valid_ballots": counts.get("accepted", 0),
        "rejected": counts.get("rejected", 0),
        "superseded": counts.get("superseded", 0),
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat()


def sources_status(session: Session) -> list[dict]:
    """Each source's last contact (poll or webhook) and last error; no configuration secrets."""
    last_hook = dict(
        session.execute(
            select(InboxDelivery.source, func.max(InboxDelivery.received_at)).group_by(
                InboxDelivery.source
            )
        ).all()
    )
    waiting: dict[tuple[str, str], int] = {
        (source, status): n
        for source, status, n in session.execute(
            select(InboxDelivery.source, InboxDelivery.status, func.count())
            .where(InboxDelivery.status.in_(("pending", "failed")))
            .group_by(InboxDelivery.source, InboxDelivery.status)
        )
    }
    return [
        {
            "name": s.name,
            "kind": s.kind,
            "round": s.round_id,
            "last_poll_at": _iso(s.last_poll_at),
            "last_webhook_at": _iso(last_hook.get(s.name)),
            "pending_deliveries": waiting.get((s.name, "pending"), 0),
            "failed_deliveries": waiting.get((s.name, "failed"), 0),
            "last_error": s.last_error,
        }
        for s in session.scalars(select(Source).order_by(Source.name))
    ]


# What a rejected ballot's reason is about, for counting. The reasons are sentences written by
# the judge (jobs/judging.py) and the record loader (connectors/canonical.py), with the unit, the
# value or the line in them, so they are counted by kind: a bounded set of labels that staff
# (and Prometheus) can group by. The first kind that matches a ballot's reason is its kind, so a
# ballot counts once; tests/service/test_failure_counts.py keeps this in step with the sentences.
REASON_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("round_closed", (" is closed (since ",)),
    ("outside_window", ("before the round opened", "after the round closed")),
    ("unknown_token", ("token is not a seat of round",)),
    ("seat_inactive", ("the seat of this token was",)),
    ("malformed", ("invalid JSON", "expected a JSON object", "levels deep", "nested too deeply",
                   "NUL character", "unpaired surrogate", "Missing data for required field",
                   "Unknown field", "Not a valid", "may not be null")),
    ("unknown_unit", ("unknown unit ", "unknown criterion ")),
    ("incomplete", ("answer each criterion",)),
    ("off_scale", ("is not on the scale", "is not a number", " is outside ")),
)  # fmt: skip
OTHER = "other"


def reason_kind(reason: str | None) -> str:
    """The kind of a rejected ballot's reason (``REASON_KINDS``), or "other"."""
    text = reason or ""
    for kind, phrases in REASON_KINDS:
        if any(phrase in text for phrase in phrases):
            return kind
    return OTHER


def failure_counts(db: Session | Connection) -> dict:
    """What did not become a counted ballot, overall and per round (open or closed): inbox
    deliveries still pending or parked as failed, and rejected ballots by kind of reason.

    ``{"inbox": {"pending", "failed"}, "rejected": {kind: n}, "rounds": [{"round", "inbox",
    "rejected"}]}``; a round appears when it has any of these. Counts only, never a ballot."""
    rounds: dict[str, dict] = {}

    def of(round_id: str) -> dict:
        return rounds.setdefault(
            round_id, {"round": round_id, "inbox": {"pending": 0, "failed": 0}, "rejected": {}}
        )

    inbox = {"pending": 0, "failed": 0}
    for round_id, status, n in db.execute(
        select(Source.round_id, InboxDelivery.status, func.count())
        .join(Source, Source.name == InboxDelivery.source)
        .where(InboxDelivery.status.in_(("pending", "failed")))
        .group_by(Source.round_id, InboxDelivery.status)
    ):
        inbox[status] += n
        if round_id is not None:
            of(round_id)["inbox"][status] += n
    rejected: Counter = Counter()
    for round_id, reason, n in db.execute(
        select(Ballot.round_id, Ballot.reason, func.count())
        .where(Ballot.status == REJECTED)
        .group_by(Ballot.round_id, Ballot.reason)
    ):
        kind = reason_kind(reason)
        rejected[kind] += n
        per_round = of(round_id)["rejected"]
        per_round[kind] = per_round.get(kind, 0) + n
    for entry in rounds.values():
        entry["rejected"] = dict(sorted(entry["rejected"].items()))
    return {
        "inbox": inbox,
        "rejected": dict(sorted(rejected.items())),
        "rounds": [rounds[r] for r in sorted(rounds, reverse=True)],
    }
