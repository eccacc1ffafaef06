"""Rectification measures (整改措施): recorded per unit in a round, open until done, carried
forward into later rounds until then (docs/rules.md, Rectification). Every change is in the
audit log with who made it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models.rounds import Measure, Round
from service.store.audit import append_audit
from service.store.engine import StoreError, utcnow
from service.store.round_units import round_unit_codes
from service.store.rounds import get_round

MAX_TEXT = 2000


def _text(value: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise StoreError(f"a measure needs its {what} (--{what})")
    if len(text) > MAX_TEXT:
        raise StoreError(f"--{what}: at most {MAX_TEXT} characters, got {len(text)}")
    return text


def add_measure(
    session: Session,
    round_id: str,
    unit_code: str,
    cause: str,
    measure: str,
    due: date | None,
    by: str | None,
) -> Measure:
    """Record what a unit will do about a problem found in the round, and by when."""
    get_round(session, round_id)
    if unit_code not in round_unit_codes(session, round_id):
        raise StoreError(f"unit {unit_code!r} is not one of round {round_id!r}'s units")
    row = Measure(
        round_id=round_id,
        unit_code=unit_code,
        cause=_text(cause, "cause"),
        measure=_text(measure, "measure"),
        due=due,
        status="open",
        created_at=utcnow(),
        created_by=by,
    )
    session.add(row)
    session.flush()
    append_audit(
        session,
        "measure.add",
        {
            "id": row.id,
            "unit": unit_code,
            "cause": row.cause,
            "measure": row.measure,
            "due": due.isoformat() if due else None,
            "by": by,
        },
        round_id,
    )
    return row


def _earlier_or_same(session: Session, round_id: str) -> list[str]:
    """Rounds created up to ``round_id`` (its own included): where carried measures come from."""
    rnd = get_round(session, round_id)
    return list(session.scalars(select(Round.id).where(Round.created_at <= rnd.created_at)))


def open_measures(session: Session, round_id: str, unit_code: str | None = None) -> list[Measure]:
    """Open measures recorded in the round or carried into it from earlier rounds."""
    query = select(Measure).where(
        Measure.status == "open", Measure.round_id.in_(_earlier_or_same(session, round_id))
    )
    if unit_code is not None:
        query = query.where(Measure.unit_code == unit_code)
    return list(session.scalars(query.order_by(Measure.id)))


def complete_measures(
    session: Session, round_id: str, unit_code: str, note: str | None, by: str | None
) -> list[Measure]:
    """Mark the unit's open measures (recorded in the round or carried into it) done."""
    found = open_measures(session, round_id, unit_code)
    if not found:
        raise StoreError(f"unit {unit_code!r} has no open measure in round {round_id!r}")
    now = utcnow()
    for row in found:
        row.status, row.done_at, row.done_by, row.done_round = "done", now, by, round_id
        row.done_note = (note or "").strip() or None
    append_audit(
        session,
        "measure.done",
        {"ids": [r.id for r in found], "unit": unit_code, "note": note, "by": by},
        round_id,
    )
    return found


def round_measures(session: Session, round_id: str) -> list[Measure]:
    """What a round's circular shows: every measure recorded in the round, the open ones carried
    into it from earlier rounds, and those closed in it, by unit then id."""
    mine = select(Measure).where((Measure.round_id == round_id) | (Measure.done_round == round_id))
    rows = {m.id: m for m in session.scalars(mine)}
    rows.update({m.id: m for m in open_measures(session, round_id)})
    return sorted(rows.values(), key=lambda m: (m.unit_code, m.id))


def measure_json(row: Measure, round_id: str) -> dict:
    return {
        "id": row.id,
        "unit": row.unit_code,
        "round": row.round_id,
        "carried": row.round_id != round_id,
        "cause": row.cause,
        "measure": row.measure,
        "due": row.due.isoformat() if row.due else None,
        "status": row.status,
        "done_at": row.done_at.isoformat() if row.done_at else None,
        "done_note": row.done_note,
    }
