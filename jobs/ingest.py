"""Ingest job: records from a connector are judged, stored and the round's ballots settled.

The order is the point: the round's context is read from the store, each new record is judged
here (``jobs.judging``), and only then handed to the store, which saves it with its verdict.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from pathlib import Path

from sqlalchemy.orm import Session

from connectors.base import SourceSettings
from connectors.canonical import RawRecord
from connectors.registry import export_reader
from jobs.judging import RoundContext, Verdict, judge
from jobs.ranking import StoredBallot, ballot_key, load_seats
from jobs.scoring import settle
from service.rules import Rules
from service.store.aggregates import coverage, recused_votes, refresh_statistics
from service.store.ballots import (
    IngestCounts,
    audit_ingest,
    counted_ballots,
    prepare_ingest,
    record_hash,
    save_ingest,
    set_statuses,
    status_counts,
)
from service.store.engine import StoreError, as_utc, utcnow
from service.store.round_units import round_unit_codes
from service.store.rounds import get_round, lock_round, seat_tokens
from service.store.work import closed_at

logger = logging.getLogger(__name__)


def round_context(
    session: Session, round_id: str, rules: Rules, received_at: datetime | None = None
) -> RoundContext:
    """What ballots of the round are judged against; ``received_at`` = when they arrived (now)."""
    rnd = get_round(session, round_id)
    return RoundContext(
        round_id,
        as_utc(rnd.opens_at),
        as_utc(rnd.closes_at),
        seat_tokens(session, round_id),
        frozenset(round_unit_codes(session, round_id)),
        rules,
        closed_at=closed_at(session, rnd),
        received_at=received_at or utcnow(),
    )


def ingest_records(
    session: Session,
    round_id: str,
    source: str,
    records: Iterable[RawRecord],
    rules: Rules,
    received_at: datetime | None = None,
) -> tuple[IngestCounts, Counter]:
    """Judge and store the records, then settle the round; returns ingest counts and the
    records' statuses.

    Idempotent, nothing dropped or overwritten: records already stored change nothing, and only
    new versions are judged. ``received_at`` is when the records reached pingyi (default now):
    after a round's close, only what was received before it still counts.
    """
    ctx = round_context(session, round_id, rules, received_at)
    counts = _store(session, ctx, source, records)
    settle_statuses(session, round_id, rules)
    audit_ingest(session, round_id, source, counts)
    statuses = status_counts(session, round_id, counts.ballot_ids)
    logger.info(
        "ingested into round %s from %s: %d new, %d updated, %d unchanged; %s",
        round_id,
        source,
        counts.new,
        counts.updated,
        counts.unchanged,
        dict(statuses),
    )
    return counts, statuses


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a file is judged and stored.

    A batch keeps a million small objects alive (its records, their answers, their votes), and
    every few hundred new ones the collector walks the young ones and, ever more often, all of
    them: two thirds of judging a province file was that walk. Ballots make no reference
    cycles (reference counting frees them); the collector is switched back on after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _lines(path: Path) -> int:
    """The file's records: its non-empty lines."""
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def _lines_at_most(path: Path) -> int:
    """At least as many as the file's records: its lines, blank ones too, counted in 1 MB reads
    (a province file in 10 ms, where reading it line by line took 80 ms)."""
    count, last = 0, b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def batched(
    records: Iterable[RawRecord], size: int, chars: int | None = None
) -> Iterable[list[RawRecord]]:
    """Lists of ``size`` records, or fewer where their texts reach ``chars`` characters together
    first: a batch's memory follows what its records hold, and a province's ballots answering
    60% of 2,000 units hold twice what ones answering 30% do."""
    it = iter(records)
    if chars is None:
        while chunk := list(islice(it, size)):
            yield chunk
        return
    chunk, held = [], 0
    for record in it:
        chunk.append(record)
        held += len(record.text)
        if len(chunk) >= size or held >= chars:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def _store(
    session: Session, ctx: RoundContext, source: str, records: Iterable[RawRecord]
) -> IngestCounts:
    """Judge and store records (new versions only); settling is the caller's."""
    batch = prepare_ingest(session, ctx.round_id, source, records)
    verdicts = [judge(r.ballot, ctx) if r.ballot is not None else None for r in batch.records]
    return save_ingest(session, batch, verdicts)


@dataclass
class _Judged:
    """A batch of a file with every record's verdict and hash, worked out ahead."""

    records: list[RawRecord]
    verdicts: list[Verdict | None]
    digests: list[str]


def _judge_ahead(batches: Iterable[list[RawRecord]], ctx: RoundContext) -> Iterator[_Judged]:
    """Each batch judged and hashed, the next one in a thread while the caller stores this one.

    Reading, judging and hashing are Python; storing is mostly waiting for PostgreSQL to take
    the COPY in. Done one after the other, each waited for the other; in a thread, the next
    batch is read while the database works on this one (the driver lets go of the interpreter
    while it waits). Every record is judged, new or not: which are new is known only once the
    store is asked, and judging is pure. An error reading the file (bad bytes) is raised here
    at the batch it belongs to, so the batches before it have been handed over, and nothing of
    it is committed."""
    it = iter(batches)

    def work() -> _Judged | None:
        batch = next(it, None)
        if batch is None:
            return None
        verdicts = [judge(r.ballot, ctx) if r.ballot is not None else None for r in batch]
        return _Judged(batch, verdicts, [record_hash(r) for r in batch])

    with ThreadPoolExecutor(1, thread_name_prefix="ingest-read") as reader:
        ahead = reader.submit(work)
        while (judged := ahead.result()) is not None:
            ahead = reader.submit(work)
            yield judged


def settle_statuses(session: Session, round_id: str, rules: Rules) -> None:
    """Settle accepted / superseded / invalid (docs/rules.md) after an ingest, as ``rank``
    does: the one settling rule (``jobs.scoring.settle``) on each ballot's stored coverage
    (``service.store.aggregates.coverage``), never on its votes. Ballot keys are built as
    ``load_round`` builds them, so equal submission times are ordered the same way."""
    lock_round(session, round_id)  # then read: no other settling of this round in between
    units = round_unit_codes(session, round_id)
    seats = load_seats(session, round_id)
    covered = coverage(session, round_id, recused_votes(session, round_id))
    ballots, ids = [], {}
    for bid, source, response_id, version, token, submitted_at, _ in counted_ballots(
        session, round_id
    ):
        key = ballot_key(source, response_id, version)
        ballots.append(StoredBallot(bid, key, token, as_utc(submitted_at)))
        ids[key] = bid
    _, status = settle(seats, ballots, frozenset(units), rules, lambda b, _: covered.get(b.id, 0))
    set_statuses(session, round_id, {ids[k]: v for k, v in status.items()})


def with_seat_tokens(
    records: Iterable[RawRecord], tokens: Iterable[str], platform_token: Callable[[str], str]
) -> list[RawRecord]:
    """Ballots name the platform's copy of a seat token; give them back the seat's own token."""
    back = {platform_token(t): t for t in tokens}
    out = []
    for record in records:
        b = record.ballot
        if b is not None and back.get(b.token, b.token) != b.token:
            record = replace(record, ballot=replace(b, token=back[b.token]))
        out.append(record)
    return out


# One file is one platform export of one round: a county's month is a few hundred records, a
# province's some tens of thousands. Far beyond that it is a wrong file or an attack, refused
# whole before it costs memory and time (200,000 lines of garbage once took 1 GB). In bytes, a
# province's 5,000 ballots answering 30-60% of 2,000 units (issue #13) are a 99 MB file, and
# answering every unit about 170 MB: the file is read as a stream, so its size costs time only.
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_FILE_RECORDS = 100_000
# A batch is at most this many records, and stops at the record that brings its texts to
# FILE_BATCH_CHARS: a province ballot of 450 answers is about 7,000 characters, so a batch of
# those is 1,000 records (331 MB peak for the file), one of 900 answers about 570 (4.5 million
# answers took 511 MB in batches of 1,000).
FILE_BATCH = 1_000
FILE_BATCH_CHARS = 8_000_000


def ingest_file(
    session: Session,
    round_id: str,
    path: Path,
    fmt: str,
    rules: Rules,
    source: SourceSettings | None = None,
) -> tuple[IngestCounts, Counter]:
    """Ingest a file export in format ``fmt`` (a registered platform's export reader).

    Without ``source`` the records are keyed under ``file:<round>``. With it (``ingest
    --source NAME``, see ``jobs.sources.export_source``) the reader applies that source's mapping
    and the records are keyed under the source, so a platform's own export reconciles its pushes
    and polls: a ballot already received the other way is the same ballot, not a second one."""
    reader = export_reader(fmt)  # an unknown format is refused with the known ones
    get_round(session, round_id)  # an unknown round is the first thing to say, before the file
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise StoreError(f"{path}: {exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise StoreError(
            f"{path.name}: {size / 2**20:.1f} MB is over the {MAX_FILE_BYTES // 2**20} MB a ballot "
            "file may have; split the export"
        )
    records = reader.export(path, source)  # a list, or a stream of records (JSON lines)
    tokens = None
    if source is not None and reader.platform_token is not None:
        tokens = list(seat_tokens(session, round_id))
    key = source.name if source is not None else f"file:{round_id}"
    # In batches, in one transaction: memory stays that of a batch whatever the file's size,
    # and a file refused half-way (too many records, bad bytes) stores nothing.
    # A stream is counted by its non-empty lines first (a quick pass over the bytes), so a
    # file that is too long is refused before anything is judged or stored.
    n = len(records) if isinstance(records, list) else _lines_at_most(path)
    if n > MAX_FILE_RECORDS and not isinstance(records, list):
        n = _lines(path)  # blank lines are no records: count exactly before refusing
    if n > MAX_FILE_RECORDS:
        raise StoreError(
            f"{path.name}: {n:,} records, over the {MAX_FILE_RECORDS:,} one file may hold; "
            "nothing was stored (split the export)"
        )
    ctx = round_context(session, round_id, rules)
    total, seen = IngestCounts(), 0
    batches = batched(records, FILE_BATCH, FILE_BATCH_CHARS)
    if tokens is not None:
        batches = (with_seat_tokens(b, tokens, reader.platform_token) for b in batches)
    with _no_cycle_collection():
        for judged in _judge_ahead(batches, ctx):
            seen += len(judged.records)
            batch = prepare_ingest(session, round_id, key, judged.records, judged.digests)
            verdicts = [judged.verdicts[i] for i in batch.positions]
            counts = save_ingest(session, batch, verdicts)
            total.new += counts.new
            total.updated += counts.updated
            total.unchanged += counts.unchanged
            total.ballot_ids += counts.ballot_ids
            total.changed_ids += counts.changed_ids
    if seen > FILE_BATCH:
        refresh_statistics(session)
    settle_statuses(session, round_id, rules)
    audit_ingest(session, round_id, key, total)
    statuses = status_counts(session, round_id, total.ballot_ids)
    logger.info("ingested %s into round %s: %d records; %s", path.name, round_id, seen,
                dict(statuses))  # fmt: skip
    return total, statuses
