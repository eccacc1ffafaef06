"""Ballots in the store: every version of every response, and the rows settling and scoring read.

Saving is idempotent on (source, platform response id): the same record again changes nothing,
changed content under a known response id is a new version, and every record is kept — rejected
ones with their reasons. The store does not judge: ``prepare_ingest`` says which records are new
versions, the caller judges those, and ``save_ingest`` stores them with their verdicts. Statuses
other than ``rejected`` are settled from the whole round afterwards (a later ballot can supersede
an earlier one) and written by ``set_statuses``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring as _quote
from typing import Protocol

import orjson
from sqlalchemy import Connection, Result, Row, func, select, update
from sqlalchemy.orm import Session

from connectors.canonical import RawRecord, canonical_text
from service.models.ballots import Ballot, Comment, Vote
from service.store.aggregates import round_votes
from service.store.audit import append_audit
from service.store.bulk import insert_ballots, insert_votes
from service.store.engine import utcnow
from service.store.vote_rows import voted_units

REJECTED = "rejected"
# Passed judging when ingested. Settling the round (``set_statuses``) keeps it accepted, or makes
# it superseded (the seat sent a later ballot) or invalid (too few units answered).
ACCEPTED = "accepted"


class Judged(Protocol):
    """What the store needs of a verdict (``jobs.judging.Verdict``): the seat, the votes
    (each with ``unit``, ``criterion``, ``label``, ``points``) and the reasons for rejecting."""

    seat_id: int | None
    votes: Sequence
    reasons: Sequence[str]

    @property
    def accepted(self) -> bool: ...


@dataclass
class IngestCounts:
    """What one ingest did: new, changed and unchanged records, the ids it touched, and of
    those the ones it wrote (new and updated)."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    ballot_ids: list[int] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)


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


_TEXT = frozenset({str})
# The values orjson writes as ``_canonical`` does: text, integers (orjson refuses one beyond 64
# bits, which then takes ``_canonical``), true, false and null. Not Decimal (written as written
# only by ``_canonical``) and not float (orjson writes 1e16 where Python writes 1e+16).
_SCALAR = frozenset({str, int, bool, type(None)})


def _ballot_bytes(basis: dict, validated: bool = False) -> bytes:
    """The UTF-8 bytes of exactly ``_canonical(basis)``, written by orjson where they are the same.

    With its keys sorted, orjson writes what ``json.dumps(ensure_ascii=False, sort_keys=True,
    separators=(",", ":"))`` writes, as UTF-8: the same escapes (quote, backslash, the controls
    as ``\\n`` or ``\\u0001``, nothing else escaped), integers in full, and keys in code-point
    order (UTF-8's byte order is code-point order). A province ballot of 450 answers is hashed
    in 34 µs instead of about 110 (the standard library's encoder, then encoding the text): the
    hash had been the ingest's largest Python cost after parsing. Tests hold the two to the same
    bytes. It is used on a record no deeper than a ballot of plain answers (an object of objects
    of scalars, keyed by text); anything else, and anything orjson refuses (a lone surrogate, an
    integer beyond 64 bits, a Decimal), takes ``_canonical``. A ``validated`` ballot's shape is known (text fields, answers of text,
    integers and Decimals, or objects of those, comments of text: ``CanonicalBallot``) and is
    not walked again; orjson refuses its Decimals, which then take ``_canonical``."""
    if validated or (_TEXT.issuperset(map(type, basis)) and all(map(_flat, basis.values()))):
        try:
            return orjson.dumps(basis, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # orjson.JSONEncodeError
            pass
    return _canonical(basis).encode("utf-8")


def _flat(value: object) -> bool:
    """A value orjson writes as ``_canonical`` does: a scalar of ``_SCALAR``, or an object keyed
    by text whose values are such scalars."""
    if type(value) is dict:
        return _TEXT.issuperset(map(type, value)) and _SCALAR.issuperset(map(type, value.values()))
    return type(value) in _SCALAR


def record_hash(record: RawRecord) -> str:
    """Hash of what the record says (sorted keys), so re-serialised copies are still 'the same'."""
    if record.ballot is None:
        return hashlib.sha256(record.text.encode("utf-8")).hexdigest()
    b = record.ballot
    basis = {
        "id": b.id,
        "token": b.token,
        "submitted_at": b.submitted_at.isoformat(),
        "answers": b.answers,
        "comments": b.comments,
    }
    return hashlib.sha256(_ballot_bytes(basis, validated=True)).hexdigest()


@dataclass
class _Version:
    """A stored version of a response, as much of it as deciding "same or new" needs."""

    id: int | None  # None until the batch it belongs to is inserted
    version: int
    sha: str
    round_id: str
    slot: int = -1  # index of its row in the batch being inserted, when id is None


@dataclass
class IngestBatch:
    """A batch of records held against the store: ``records`` are the new versions, in order,
    each waiting for a verdict; the rest are already stored and change nothing."""

    round_id: str
    source: str
    records: list[RawRecord]
    counts: IngestCounts
    _new: list[_Version]  # the new versions of ``records``, same order
    _touched: list[_Version]  # every record's version, in the order the records came
    positions: list[int] = field(default_factory=list)  # of ``records`` among those given


def prepare_ingest(
    session: Session,
    round_id: str,
    source: str,
    records: Iterable[RawRecord],
    digests: Sequence[str] | None = None,
) -> IngestBatch:
    """Sort ``records`` of ``source`` into those already stored (``unchanged``) and new versions.

    The same content again is unchanged; changed content under a known response id is a new
    version (``updated``). A response id stored under another round is refused. Known versions
    are read as plain rows, in bounded IN lists, for ten thousand records at a time.
    ``digests`` are the records' ``record_hash`` when the caller has them already.
    """
    counts = IngestCounts()
    records = list(records)
    keys = sorted({r.key for r in records})
    versions: dict[str, list[_Version]] = {}
    for start in range(0, len(keys), 500):  # bounded IN lists
        for bid, rid, version, sha, stored_round in session.execute(
            select(
                Ballot.id, Ballot.response_id, Ballot.version, Ballot.raw_sha256, Ballot.round_id
            ).where(Ballot.source == source, Ballot.response_id.in_(keys[start : start + 500]))
        ):
            versions.setdefault(rid, []).append(_Version(bid, version, sha, stored_round))
    fresh: list[RawRecord] = []
    new: list[_Version] = []
    touched: list[_Version] = []
    positions: list[int] = []
    if digests is None:
        digests = [record_hash(r) for r in records]
    for position, (record, digest) in enumerate(zip(records, digests, strict=True)):
        known = versions.setdefault(record.key, [])
        same = next((v for v in known if v.sha == digest), None)
        if same is not None:
            counts.unchanged += 1
            touched.append(same)
            continue
        if known and known[0].round_id != round_id:
            raise ValueError(
                f"{record.where}: response {record.key!r} of source {source!r} belongs to "
                f"round {known[0].round_id}, not {round_id}"
            )
        version = _Version(
            None, 1 + max((v.version for v in known), default=0), digest, round_id, len(new)
        )
        if known:
            counts.updated += 1
        else:
            counts.new += 1
        fresh.append(record)
        positions.append(position)
        new.append(version)
        known.append(version)
        touched.append(version)
    return IngestBatch(round_id, source, fresh, counts, new, touched, positions)


def save_ingest(
    session: Session, batch: IngestBatch, verdicts: Sequence[Judged | None]
) -> IngestCounts:
    """Store the batch's new versions with their verdicts (None: the record did not parse).

    Every record is kept: accepted ones with their votes and comments, rejected ones with their
    reasons. Ballots, votes and comments go in in bulk (``service.store.bulk``), never object
    by object.
    """
    now = utcnow()
    rows = [
        _ballot_row(batch, record, version, now, verdict)
        for record, version, verdict in zip(batch.records, batch._new, verdicts, strict=True)
    ]
    ids = insert_ballots(session, rows)
    for version in batch._touched:
        if version.id is None:
            version.id = ids[version.slot]
    counts = batch.counts
    counts.ballot_ids = [v.id for v in batch._touched]
    counts.changed_ids = ids
    insert_votes(session, ids, batch.records, verdicts)
    return counts


def audit_ingest(session: Session, round_id: str, source: str, counts: IngestCounts) -> None:
    """The audit entry of one ingest (a delivery batch, a poll, a file), appended after its
    ballots are settled. Order matters: settling locks the round's row, and the audit lock comes
    after it here as in a ranking, which locks the round and then appends. Appending first (as
    each stored batch once did) held the audit lock while waiting for a ranking's round lock,
    while the ranking waited for the audit lock: a deadlock PostgreSQL broke by failing a job."""
    append_audit(
        session,
        "ballots.ingest",
        {
            "source": source,
            "new": counts.new,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
        },
        round_id,
    )


def _ballot_row(
    batch: IngestBatch, record: RawRecord, version: _Version, now: datetime, verdict: Judged | None
) -> dict:
    row = {
        "round_id": batch.round_id,
        "source": batch.source,
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
        "voted_units": None,
    }
    b = record.ballot
    if b is not None and verdict is not None:
        row.update(token=b.token, submitted_at=b.submitted_at, seat_id=verdict.seat_id)
        if verdict.accepted:
            voted = voted_units(verdict.votes)
            row.update(status=ACCEPTED, reason=None, voted_units=voted)
        else:
            row["reason"] = "; ".join(verdict.reasons)
    return row


def set_statuses(session: Session, round_id: str, statuses: dict[int, str]) -> None:
    """Write settled statuses (accepted / superseded / invalid) for non-rejected ballots, and
    only where they change (a row written again is a new version in each of its indexes)."""
    by_status: dict[str, list[int]] = {}
    for ballot_id, status in statuses.items():
        by_status.setdefault(status, []).append(ballot_id)
    for status, ids in by_status.items():
        session.execute(
            update(Ballot)
            .where(Ballot.round_id == round_id, Ballot.id.in_(ids), Ballot.status != REJECTED)
            .where(Ballot.status != status)
            .values(status=status)
        )


def counted_ballots(session: Session, round_id: str) -> list[Row]:
    """The round's ballots that are not rejected, one plain row each: ``id``, ``source``,
    ``response_id``, ``version``, ``token``, ``submitted_at``, ``raw_sha256``."""
    return list(
        session.execute(
            select(
                Ballot.id,
                Ballot.source,
                Ballot.response_id,
                Ballot.version,
                Ballot.token,
                Ballot.submitted_at,
                Ballot.raw_sha256,
            ).where(Ballot.round_id == round_id, Ballot.status != REJECTED)
        )
    )


def counted_votes(session: Session, round_id: str) -> Result:
    """Every vote of the round's ballots that are not rejected, as rows of (ballot id, unit,
    criterion, label, points text), streamed: a 100 × 98 round is ten thousand of them."""
    return session.execute(
        select(Vote.ballot_id, Vote.unit_code, Vote.criterion, Vote.label, Vote.points)
        .join(Ballot, Ballot.id == Vote.ballot_id)
        .where(Ballot.round_id == round_id, Ballot.status != REJECTED)
        .where(round_votes(session, round_id))
    )


def counted_comments(session: Session, round_id: str) -> list[tuple[str, str, str]]:
    """(unit, text, token) of every comment on an accepted ballot of the round."""
    return [
        (unit, text, token)
        for unit, text, token in session.execute(
            select(Comment.unit_code, Comment.text, Ballot.token)
            .join(Ballot, Ballot.id == Comment.ballot_id)
            .where(Ballot.round_id == round_id, Ballot.status == ACCEPTED)
        )
    ]


def status_counts(
    db: Session | Connection, round_id: str | None = None, ids: Iterable[int] | None = None
) -> Counter:
    """Ballots by status: of every round, of one round, or of the given ballot ids in it."""
    query = select(Ballot.status, func.count()).group_by(Ballot.status)
    if round_id is not None:
        query = query.where(Ballot.round_id == round_id)
    if ids is None:
        return Counter(dict(db.execute(query).all()))
    total: Counter = Counter()
    for part in slices(list(ids)):
        total.update(dict(db.execute(query.where(Ballot.id.in_(part))).all()))
    return total


def slices(ids: list[int], size: int = 5000) -> Iterable[list[int]]:
    """Ids in slices: a statement takes only so many parameters (SQLite 32,766, PostgreSQL
    65,535), and one file can hold more records than that."""
    return (ids[i : i + size] for i in range(0, len(ids), size))


def accepted_responses(session: Session, ballot_ids: list[int]) -> list[tuple[str, int]]:
    """(response id, version) of those ballots that are accepted: what ``ballot.accepted`` names."""
    query = select(Ballot.response_id, Ballot.version).where(Ballot.status == "accepted")
    return [
        tuple(r) for p in slices(ballot_ids) for r in session.execute(query.where(Ballot.id.in_(p)))
    ]
