"""Stored reliability reports, one per ranking snapshot (docs/reliability.md)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.models.results import RankingSnapshot, ReliabilityReport
from service.store.engine import utcnow


def report_for(session: Session, snapshot_id: int) -> ReliabilityReport | None:
    return session.get(ReliabilityReport, snapshot_id)


def save_report(
    session: Session, snapshot: RankingSnapshot, report: dict, flags: list[dict]
) -> ReliabilityReport:
    """Store (or replace) the snapshot's report: it is a function of the snapshot and the seed,
    so computing it again gives the same numbers."""
    row = session.get(ReliabilityReport, snapshot.id)
    if row is None:
        row = ReliabilityReport(snapshot_id=snapshot.id, round_id=snapshot.round_id)
        session.add(row)
    row.computed_at, row.report, row.flags = utcnow(), report, flags
    session.flush()
    return row


def with_uncertainty(result: dict, report: dict | None) -> dict:
    """The ranking JSON with the report merged in as SPEC'd for ``rank --json`` and the API:
    per unit ``uncertainty``; at the top ``bottom_confidence``, ``tied_with``, ``icc`` and
    ``bootstrap``. Never the flags."""
    if report is None:
        return result
    units = [{**u, "uncertainty": report["units"].get(u["code"])} for u in result["units"]]
    return {
        **result,
        "units": units,
        "bottom_confidence": report["bottom_confidence"],
        "tied_with": report["tied_with"],
        "icc": report["icc"],
        "bootstrap": report["bootstrap"],
    }
