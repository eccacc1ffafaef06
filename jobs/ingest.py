"""Ingest job: records from a connector become stored, judged, settled ballots."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.orm import Session

from connectors.canonical import RawRecord
from connectors.files import FORMATS, FileFormatError, read_canonical
from jobs.ranking import settle_round
from service.ballot_store import IntakeCounts, round_context, status_counts, store_records
from service.rules import Rules
from service.store import get_round

logger = logging.getLogger(__name__)


def ingest_records(
    session: Session, round_id: str, source: str, records: Iterable[RawRecord], rules: Rules
) -> tuple[IntakeCounts, Counter]:
    """Store the records and settle the round; returns intake counts and the records' statuses."""
    ctx = round_context(session, round_id, rules)
    counts = store_records(session, ctx, source, records)
    settle_round(session, round_id, rules)
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


def ingest_file(
    session: Session, round_id: str, path: Path, fmt: str, rules: Rules
) -> tuple[IntakeCounts, Counter]:
    """Ingest a file export; the file's records are keyed under the source ``file:<round>``."""
    if fmt not in FORMATS:
        raise FileFormatError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    get_round(session, round_id)  # an unknown round is the first thing to say, before the file
    records = read_canonical(path)
    return ingest_records(session, round_id, f"file:{round_id}", records, rules)
