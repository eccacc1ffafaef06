"""Ingest job: records from a connector become stored, judged, settled ballots."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from fractions import Fraction
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.canonical import RawRecord
from connectors.files import FORMATS, FileFormatError, read_canonical
from jobs.ranking import ballot_key, load_seats
from jobs.scoring import Answer, BallotInput, settle_ballots
from service.models.ballots import Ballot, Vote
from service.models.reference import Unit
from service.rules import Rules
from service.store.ballots import (
    REJECTED,
    IntakeCounts,
    round_context,
    set_statuses,
    status_counts,
    store_records,
)
from service.store.engine import as_utc
from service.store.rounds import get_round

logger = logging.getLogger(__name__)


def ingest_records(
    session: Session,
    round_id: str,
    source: str,
    records: Iterable[RawRecord],
    rules: Rules,
    received_at: datetime | None = None,
) -> tuple[IntakeCounts, Counter]:
    """Store the records and settle the round; returns intake counts and the records' statuses.

    ``received_at`` is when the records reached pingyi (default now): after a round's close,
    only what was received before it still counts.
    """
    ctx = round_context(session, round_id, rules, received_at)
    counts = store_records(session, ctx, source, records)
    settle_statuses(session, round_id, rules)
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


# Settlement only asks *whether* a ballot voted on a unit, so each voted unit gets this marker.
_VOTED = {"": Answer(None, Fraction(1))}
_SEP = "\x1f"


def settle_statuses(session: Session, round_id: str, rules: Rules) -> None:
    """Settle accepted / superseded / invalid (§2.2) after an intake, as ``rank`` would.

    The rule is ``jobs.scoring.settle_ballots``, the one ranking uses; only the loading is
    lighter than ``jobs.ranking.load_round``: coverage needs the set of units each ballot voted
    on, not every vote's points, so the votes arrive aggregated per ballot (10,000 rows instead of
    980,000 objects for a 10,000-ballot round). Ballot keys are built as ``load_round`` builds
    them, so equal submission times are ordered the same way in both.
    """
    units = list(session.scalars(select(Unit.code).where(Unit.active.is_(True))))
    seats = load_seats(session, round_id)
    voted = {
        ballot_id: codes.split(_SEP)
        for ballot_id, codes in session.execute(
            select(Vote.ballot_id, func.aggregate_strings(Vote.unit_code, _SEP))
            .join(Ballot, Ballot.id == Vote.ballot_id)
            .where(
                Ballot.round_id == round_id,
                Ballot.status != REJECTED,
                Vote.points.is_not(None),
            )
            .group_by(Vote.ballot_id)
        )
    }
    ballots, ids = [], {}
    for bid, source, response_id, version, token, submitted_at in session.execute(
        select(
            Ballot.id,
            Ballot.source,
            Ballot.response_id,
            Ballot.version,
            Ballot.token,
            Ballot.submitted_at,
        ).where(Ballot.round_id == round_id, Ballot.status != REJECTED)
    ):
        key = ballot_key(source, response_id, version)
        answers = dict.fromkeys(voted.get(bid, ()), _VOTED)
        ballots.append(BallotInput(key, token, as_utc(submitted_at), answers))
        ids[key] = bid
    _, status = settle_ballots(seats, ballots, units, rules)
    set_statuses(session, round_id, {ids[k]: v for k, v in status.items()})


def ingest_file(
    session: Session, round_id: str, path: Path, fmt: str, rules: Rules
) -> tuple[IntakeCounts, Counter]:
    """Ingest a file export; the file's records are keyed under the source ``file:<round>``."""
    if fmt not in FORMATS:
        raise FileFormatError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    get_round(session, round_id)  # an unknown round is the first thing to say, before the file
    records = read_canonical(path)
    return ingest_records(session, round_id, f"file:{round_id}", records, rules)
