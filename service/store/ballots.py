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
from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring as _quote

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from connectors.canonical import RawRecord, canonical_text
from jobs.judging import RoundContext, Verdict, judge
from service.models.ballots import Ballot, Comment, Vote
from service.models.reference import Unit
from service.models.rounds import Seat
from service.models.service import RoundWork
from service.rules import Rules
from service.store.audit import append_audit
from service.store.engine import as_utc, utcnow
from service.store.rounds import get_round

logger = logging.getLogger(__name__)

REJECTED = "rejected"
PENDING = "accepted"  # provisional until the round is settled


@dataclass
class IntakeCounts:
    """What one intake did: new, changed and unchanged records, the ids it touched, and of
    those the ones it wrote (new and updated)."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    ballot_ids: list[int] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)


def closed_at(session: Session, rnd) -> datetime | None:
    """When the round was closed, if it is (a round closed without a record: from now)."""
    if rnd.status != "closed":
        return None
    work = session.get(RoundWork, rnd.id)
    return as_utc(work.closed_at) if work is not None and work.closed_at else utcnow()


def round_context(
    session: Session, round_id: str, rules: Rules, received_at: datetime | None = None
) -> RoundContext:
    """What ballots of the round are judged against; ``received_at`` = when they arrived (now)."""
    rnd = get_round(session, round_id)
    seats = {
        token: (sid, status)
        for sid, token, status in session.execute(
            select(Seat.id, Seat.token, Seat.status).where(Seat.round_id == round_id)
        )
    }
    units = frozenset(session.scalars(select(Unit.code).where(Unit.active.is_(True))))
    return RoundContext(
        round_id,
        as_utc(rnd.opens_at),
        as_utc(rnd.closes_at),
        seats,
        units,
        rules,
        closed_at=closed_at(session, rnd),
        received_at=received_at or utcnow(),
    )


def _canonical(value: object) -> str:
    """Exactly ``canonical_text(value)``, faster on the shapes ballots have.

    ``json.dumps(s, ensure_ascii=False)`` of a string *is* ``encode_basestring(s)``; calling the
    C encoder directly skips building an encoder per value (a 98-unit ballot has ~200 strings).
    Anything but str, Decimal and dicts of them goes to the reference implementation.
    """
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return (
            "{" + ",".join(_quote(k) + ":" + _canonical(v) for k, v in sorted(value.items())) + "}"
        )
    return canonical_text(value)


def _record_hash(record: RawRecord) -> str:
    """Hash of what the record says (sorted keys), so re-serialised copies are still 'the same'."""
    basis = record.text
    if record.ballot is not None:
        b = record.ballot
        basis = _canonical(
            {
                "id": b.id,
                "token": b.token,
                "submitted_at": b.submitted_at.isoformat(),
                "answers": b.answers,
                "comments": b.comments,
            }
        )
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


@dataclass
class _Version:
    """A stored version of a response, as much of it as deciding "same or new" needs."""

    id: int | None  # None until the batch it belongs to is inserted
    version: int
    sha: str
    round_id: str
    slot: int = -1  # index of its row in the batch being inserted, when id is None


def store_records(
    session: Session, ctx: RoundContext, source: str, records: Iterable[RawRecord]
) -> IntakeCounts:
    """Store records under ``source``: judged, idempotent, nothing dropped or overwritten.

    The same content again is ``unchanged``; changed content under a known response id is a
    new version (``updated``), judged on its own and settled with the others by §2.2.

    Written for ten thousand 98-unit ballots at a time: known versions are read as plain rows,
    every record is judged first, then the ballots go in with one multi-row INSERT … RETURNING
    and their votes and comments in bulk (``_insert_rows``), never object by object.
    """
    counts = IntakeCounts()
    records = list(records)
    keys = sorted({r.key for r in records})
    versions: dict[str, list[_Version]] = {}
    for start in range(0, len(keys), 500):  # bounded IN lists
        for bid, rid, version, sha, round_id in session.execute(
            select(
                Ballot.id, Ballot.response_id, Ballot.version, Ballot.raw_sha256, Ballot.round_id
            ).where(Ballot.source == source, Ballot.response_id.in_(keys[start : start + 500]))
        ):
            versions.setdefault(rid, []).append(_Version(bid, version, sha, round_id))
    now = utcnow()
    rows: list[dict] = []
    verdicts: list[tuple[RawRecord, Verdict | None]] = []
    touched: list[_Version] = []
    for record in records:
        digest = _record_hash(record)
        known = versions.setdefault(record.key, [])
        same = next((v for v in known if v.sha == digest), None)
        if same is not None:
            counts.unchanged += 1
            touched.append(same)
            continue
        if known and known[0].round_id != ctx.round_id:
            raise ValueError(
                f"{record.where}: response {record.key!r} of source {source!r} belongs to "
                f"round {known[0].round_id}, not {ctx.round_id}"
            )
        version = _Version(
            None, 1 + max((v.version for v in known), default=0), digest, ctx.round_id, len(rows)
        )
        verdict = judge(record.ballot, ctx) if record.ballot is not None else None
        rows.append(_ballot_row(ctx, source, record, version, now, verdict))
        verdicts.append((record, verdict))
        if known:
            counts.updated += 1
        else:
            counts.new += 1
        known.append(version)
        touched.append(version)
    ids = _insert_ballots(session, rows)
    for version in touched:
        if version.id is None:
            version.id = ids[version.slot]
    counts.ballot_ids = [v.id for v in touched]
    counts.changed_ids = ids
    _insert_votes(session, ids, verdicts)
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


def _ballot_row(
    ctx: RoundContext,
    source: str,
    record: RawRecord,
    version: _Version,
    now: datetime,
    verdict: Verdict | None,
) -> dict:
    row = {
        "round_id": ctx.round_id,
        "source": source,
        "response_id": record.key,
        "version": version.version,
        "raw": record.text,
        "raw_sha256": version.sha,
        "received_at": now,
        "token": None,
        "seat_id": None,
        "submitted_at": None,
        "status": REJECTED,
        "reason": record.error,
    }
    b = record.ballot
    if b is not None and verdict is not None:
        row.update(token=b.token, submitted_at=b.submitted_at, seat_id=verdict.seat_id)
        if verdict.accepted:
            row.update(status=PENDING, reason=None)
        else:
            row["reason"] = "; ".join(verdict.reasons)
    return row


def _insert_ballots(session: Session, rows: list[dict]) -> list[int]:
    """Insert ballot rows; their new ids, in the order of ``rows``."""
    if not rows:
        return []
    result = session.execute(
        insert(Ballot).returning(Ballot.id, sort_by_parameter_order=True), rows
    )
    return list(result.scalars())


def _insert_votes(
    session: Session, ids: list[int], verdicts: list[tuple[RawRecord, Verdict | None]]
) -> None:
    votes, comments = [], []
    for ballot_id, (record, verdict) in zip(ids, verdicts, strict=True):
        if verdict is None or not verdict.accepted:
            continue
        votes.extend((ballot_id, v.unit, v.criterion, v.label, v.points) for v in verdict.votes)
        comments.extend(
            (ballot_id, unit, text) for unit, text in record.ballot.comments.items() if text.strip()
        )
    _insert_rows(
        session, Vote.__table__, ("ballot_id", "unit_code", "criterion", "label", "points"), votes
    )
    _insert_rows(session, Comment.__table__, ("ballot_id", "unit_code", "text"), comments)


def _insert_rows(
    session: Session, table: Table, columns: tuple[str, ...], rows: list[tuple]
) -> None:
    """Bulk insert in the session's transaction: COPY on PostgreSQL (a 98-unit ballot is 98
    vote rows, and COPY moves a million of them in seconds where INSERTs take minutes), plain
    executemany elsewhere (SQLite is in-process, so executemany is already cheap)."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


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
