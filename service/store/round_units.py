"""The units a round was opened with: fixed at ``round create``, read by everything after.

The ``units`` table says what the county has today; a round must keep saying what it had when
it ran, or importing next month's units would change a closed round's ballots, its ranking and
a published circular. So a round copies the active units (code, name, system, the systems'
order) once, and judging, ranking, vetoes and circulars read only that copy.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from service.models.ballots import Ballot
from service.models.reference import System, Unit
from service.models.rounds import RoundUnit
from service.models.sources import Source
from service.store.audit import append_audit, canonical_json, sha256_text
from service.store.engine import StoreError


def freeze_units(session: Session, round_id: str) -> int:
    """Copy today's active units into the round; returns how many. A round with no units could
    take no ballot, so it is refused with what to do instead."""
    rows = session.execute(
        select(Unit.code, Unit.name, System.name, System.position, Unit.kind)
        .join(System, System.id == Unit.system_id)
        .where(Unit.active.is_(True))
        .order_by(Unit.code)
    ).all()
    if not rows:
        raise StoreError(
            f"round {round_id!r}: there are no active units to evaluate (import units first: "
            "pingyi import units FILE)"
        )
    session.add_all(
        RoundUnit(
            round_id=round_id,
            code=code,
            name=name,
            system=system,
            system_position=position,
            kind=kind,
        )
        for code, name, system, position, kind in rows
    )
    session.flush()
    return len(rows)


def units_fingerprint(session: Session, round_id: str) -> str:
    """SHA-256 over the round's units (code, name, system, in code order), for the audit log."""
    return sha256_text(canonical_json([list(row) for row in round_units(session, round_id)]))


def round_units(session: Session, round_id: str) -> list[tuple[str, str, str]]:
    """(code, name, system) of each unit of the round, by code."""
    return [
        (code, name, system)
        for code, name, system in session.execute(
            select(RoundUnit.code, RoundUnit.name, RoundUnit.system)
            .where(RoundUnit.round_id == round_id)
            .order_by(RoundUnit.code)
        )
    ]


def round_unit_codes(session: Session, round_id: str) -> list[str]:
    """Codes of the round's units, sorted: the units a ballot of the round may name."""
    return list(
        session.scalars(
            select(RoundUnit.code).where(RoundUnit.round_id == round_id).order_by(RoundUnit.code)
        )
    )


def round_systems(session: Session, round_id: str) -> list[str]:
    """The round's systems in the order the circular lists them (their import order)."""
    return list(
        session.scalars(
            select(RoundUnit.system)
            .where(RoundUnit.round_id == round_id)
            .group_by(RoundUnit.system)
            .order_by(func.min(RoundUnit.system_position), RoundUnit.system)
        )
    )


def ballots_received(session: Session, round_id: str) -> int:
    """Ballots of the round in any status, rejected ones included: everything that came in."""
    return session.scalar(select(func.count(Ballot.id)).where(Ballot.round_id == round_id)) or 0


def refresh_units(session: Session, round_id: str, actor: str = "cli") -> tuple[int, int]:
    """Take today's active units again, for a round created before its units were settled.

    Only while nothing depends on the old list: no ballot received (they were judged against
    it) and no source set up (its survey was built from it). Returns (before, after) counts;
    the audit log keeps both fingerprints.
    """
    ballots = ballots_received(session, round_id)
    if ballots:
        raise StoreError(
            f"round {round_id!r} has {ballots} ballot(s), judged against its units: its units "
            "can no longer change"
        )
    sources = list(session.scalars(select(Source.name).where(Source.round_id == round_id)))
    if sources:
        raise StoreError(
            f"round {round_id!r}: source(s) {', '.join(sources)} were set up with its units; "
            "remove them first (pingyi source remove NAME)"
        )
    before = units_fingerprint(session, round_id)
    count_before = len(round_unit_codes(session, round_id))
    session.execute(delete(RoundUnit).where(RoundUnit.round_id == round_id))
    count_after = freeze_units(session, round_id)
    append_audit(
        session,
        "round.units",
        {
            "before": {"units": count_before, "sha256": before},
            "after": {"units": count_after, "sha256": units_fingerprint(session, round_id)},
        },
        round_id,
        actor,
    )
    return count_before, count_after
