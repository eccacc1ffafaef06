"""Storing ballots idempotently, and the round data that judging and scoring read.

Idempotent on (source, platform response id): the same record stored twice changes nothing, a
changed record is judged again in place, and every record is kept — rejected ones with their
reason. Statuses other than ``rejected`` are settled from the whole round afterwards (a later
ballot can supersede an earlier one), by ``set_statuses``.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connectors.canonical import RawRecord, canonical_text
from service.intake import RoundContext, judge
from service.models import Ballot, Comment, Seat, Unit, Vote
from service.rules import Rules
from service.store import append_audit, as_utc, get_round, utcnow

logger = logging.getLogger(__name__)

REJECTED = "rejected"
PENDING = "accepted"  # provisional until the round is settled


@dataclass
class IntakeCounts:
    """What one intake did: new, changed and unchanged records, and the ids it touched."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    ballot_ids: list[int] = field(default_factory=list)


def round_context(session: Session, round_id: str, rules: Rules) -> RoundContext:
    rnd = get_round(session, round_id)
    seats = {
        token: (sid, status)
        for sid, token, status in session.execute(
            select(Seat.id, Seat.token, Seat.status).where(Seat.round_id == round_id)
        )
    }
    units = frozenset(session.scalars(select(Unit.code).where(Unit.active.is_(True))))
    return RoundContext(round_id, as_utc(rnd.opens_at), as_utc(rnd.closes_at), seats, units, rules)


def _record_hash(record: RawRecord) -> str:
    """Hash of what the record says (sorted keys), so re-serialised copies are still 'the same'."""
    basis = record.text
    if record.ballot is not None:
        b = record.ballot
        basis = canonical_text(
            {
                "id": b.id,
                "token": b.token,
                "submitted_at": b.submitted_at.isoformat(),
                "answers": b.answers,
                "comments": b.comments,
            }
        )
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def store_records(
    session: Session, ctx: RoundContext, source: str, records: Iterable[RawRecord]
) -> IntakeCounts:
    """Store records under ``source``: judged, idempotent, nothing dropped or overwritten.

    The same content again is ``unchanged``; changed content under a known response id is a
    new version (``updated``), judged on its own and settled with the others by §2.2.
    """
    counts = IntakeCounts()
    records = list(records)
    keys = sorted({r.key for r in records})
    versions: dict[str, list[Ballot]] = {}
    for start in range(0, len(keys), 500):  # bounded IN lists
        for b in session.scalars(
            select(Ballot).where(
                Ballot.source == source, Ballot.response_id.in_(keys[start : start + 500])
            )
        ):
            versions.setdefault(b.response_id, []).append(b)
    now = utcnow()
    for record in records:
        digest = _record_hash(record)
        known = versions.setdefault(record.key, [])
        same = next((b for b in known if b.raw_sha256 == digest), None)
        if same is not None:
            counts.unchanged += 1
            counts.ballot_ids.append(same.id)
            continue
        if known and known[0].round_id != ctx.round_id:
            raise ValueError(
                f"{record.where}: response {record.key!r} of source {source!r} belongs to "
                f"round {known[0].round_id}, not {ctx.round_id}"
            )
        ballot = Ballot(
            round_id=ctx.round_id,
            source=source,
            response_id=record.key,
            version=1 + max((b.version for b in known), default=0),
            raw=record.text,
            raw_sha256=digest,
            received_at=now,
        )
        session.add(ballot)
        if known:
            counts.updated += 1
        else:
            counts.new += 1
        known.append(ballot)
        _apply_verdict(session, ballot, record, ctx)
        counts.ballot_ids.append(ballot.id)
    append_audit(
        session,
        "ballots.ingest",
        {
            "source": source,
            "new": counts.new,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
        },
        ctx.round_id,
    )
    return counts


def _apply_verdict(session: Session, ballot: Ballot, record: RawRecord, ctx: RoundContext) -> None:
    b = record.ballot
    if b is None:
        ballot.token, ballot.seat_id, ballot.submitted_at = None, None, None
        ballot.status, ballot.reason = REJECTED, record.error
        session.flush()
        return
    verdict = judge(b, ctx)
    ballot.token, ballot.submitted_at, ballot.seat_id = b.token, b.submitted_at, verdict.seat_id
    if not verdict.accepted:
        ballot.status, ballot.reason = REJECTED, "; ".join(verdict.reasons)
        session.flush()
        return
    ballot.status, ballot.reason = PENDING, None
    session.flush()
    session.add_all(
        Vote(
            ballot_id=ballot.id,
            unit_code=v.unit,
            criterion=v.criterion,
            label=v.label,
            points=v.points,
        )
        for v in verdict.votes
    )
    session.add_all(
        Comment(ballot_id=ballot.id, unit_code=unit, text=text)
        for unit, text in b.comments.items()
        if text.strip()
    )


def set_statuses(session: Session, round_id: str, statuses: dict[int, str]) -> None:
    """Write settled statuses (accepted / superseded / invalid) for non-rejected ballots."""
    by_status: dict[str, list[int]] = {}
    for ballot_id, status in statuses.items():
        by_status.setdefault(status, []).append(ballot_id)
    for status, ids in by_status.items():
        session.execute(
            update(Ballot)
            .where(Ballot.round_id == round_id, Ballot.id.in_(ids), Ballot.status != REJECTED)
            .values(status=status)
        )


def status_counts(session: Session, round_id: str, ids: Iterable[int] | None = None) -> Counter:
    """Ballots by status, for the whole round or for the given ballot ids."""
    query = select(Ballot.status).where(Ballot.round_id == round_id)
    if ids is not None:
        query = query.where(Ballot.id.in_(list(ids)))
    return Counter(session.scalars(query))


def rejected_ballots(session: Session, round_id: str) -> list[tuple[str, str, str]]:
    """(source, response id, reason) of every rejected ballot, for staff to follow up."""
    return [
        (b.source, b.response_id, b.reason or "")
        for b in session.scalars(
            select(Ballot)
            .where(Ballot.round_id == round_id, Ballot.status == REJECTED)
            .order_by(Ballot.id)
        )
    ]
