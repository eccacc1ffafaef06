"""Rounds, their panels (seats and tokens) and vetoes."""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models.reference import Conflict, Group, Member, Unit
from service.models.rounds import Round, Seat, SeatHolder, Veto
from service.store.audit import append_audit
from service.store.engine import StoreError, utcnow
from service.store.reference import pool_fingerprint
from service.store.round_units import freeze_units, round_unit_codes, units_fingerprint

# Seat tokens: 32 characters from [0-9A-Za-z] drawn with ``secrets`` = 190 bits, over the 128 the
# draw needs (docs/draw.md). Letters and digits only, at most 36 long, because survey platforms keep tokens
# as access codes (LimeSurvey strips anything else and cuts at 36) and they go into URLs as is.
TOKEN_LENGTH = 32


TOKEN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


ROUND_KINDS = ("monthly", "quarterly", "semiannual")
# A round id goes into URLs, file names and Content-Disposition headers: letters (Chinese
# included), digits, "-", "_" and ".", starting with a letter or digit, at most 64 long.
ROUND_ID = re.compile(r"^[^\W_][\w.-]{0,63}$")


def create_round(
    session: Session,
    round_id: str,
    kind: str,
    opens_at: datetime | None,
    closes_at: datetime | None,
    parts: list[str],
) -> Round:
    """Create a round; a summary round must name existing rounds as its parts."""
    if not ROUND_ID.fullmatch(round_id):
        raise StoreError(
            f"round id {round_id!r}: use 1–64 letters, digits, '-', '_' or '.', starting with a "
            "letter or digit (it goes into links and file names)"
        )
    if kind not in ROUND_KINDS:
        raise StoreError(f"round kind must be one of {', '.join(ROUND_KINDS)}, got {kind!r}")
    if session.get(Round, round_id) is not None:
        raise StoreError(f"round {round_id!r} already exists")
    if opens_at is None or closes_at is None:
        # A round with an open-ended window would take ballots forever and never close itself.
        raise StoreError(
            f"round {round_id!r} needs its submission window: --opens and --closes "
            "(ISO 8601 dates or times)"
        )
    if closes_at <= opens_at:
        raise StoreError(f"round {round_id!r}: --closes must be after --opens")
    if kind == "monthly" and parts:
        raise StoreError("a monthly round has no constituent rounds (--of)")
    _check_parts(session, round_id, kind, parts)
    rnd = Round(
        id=round_id,
        kind=kind,
        opens_at=opens_at,
        closes_at=closes_at,
        parts=parts,
        status="open",
        created_at=utcnow(),
    )
    session.add(rnd)
    session.flush()
    units = freeze_units(session, round_id)
    append_audit(
        session,
        "round.create",
        {
            "kind": kind,
            "opens_at": opens_at.isoformat() if opens_at else None,
            "closes_at": closes_at.isoformat() if closes_at else None,
            "parts": parts,
            "units": units,
            "units_sha256": units_fingerprint(session, round_id),
        },
        round_id,
    )
    return rnd


# A quarter sums up to three months, a half year two quarters (docs/rules.md, Summary rounds).
PART_KIND = {"quarterly": ("monthly", 3), "semiannual": ("quarterly", 2)}


def _check_parts(session: Session, round_id: str, kind: str, parts: list[str]) -> None:
    """A summary names existing rounds of the kind below it, each once, none already summed up
    by another round of the same kind."""
    if kind not in PART_KIND:
        return
    below, most = PART_KIND[kind]
    if not parts:
        raise StoreError(f"round {round_id!r}: a {kind} round names its {below} rounds (--of)")
    if len(parts) > most or len(set(parts)) != len(parts):
        raise StoreError(
            f"round {round_id!r}: a {kind} round names at most {most} different {below} rounds"
        )
    for part in parts:
        found = session.get(Round, part)
        if found is None:
            raise StoreError(f"round {round_id!r}: constituent round {part!r} does not exist")
        if found.kind != below:
            raise StoreError(
                f"round {round_id!r}: constituent round {part!r} is {found.kind}, not {below}"
            )
        for other in session.scalars(select(Round).where(Round.kind == kind)):
            if part in (other.parts or []):
                raise StoreError(
                    f"round {round_id!r}: round {part!r} is already part of {kind} round "
                    f"{other.id!r}"
                )


def round_event(rnd: Round) -> dict:
    """What an outgoing event says about its round: id and kind, and a summary's constituents,
    so automation can tell a quarter's ``circular.published`` from a month's."""
    found = {"round": rnd.id, "kind": rnd.kind}
    if rnd.parts:
        found["parts"] = list(rnd.parts)
    return found


def open_parts(session: Session, rnd: Round) -> list[str]:
    """A summary round's constituents that are still open (what its ranking waits for)."""
    parts = list(rnd.parts or ())
    if not parts:
        return []
    closed = set(
        session.scalars(select(Round.id).where(Round.id.in_(parts), Round.status == "closed"))
    )
    return [p for p in parts if p not in closed]


def lock_round(session: Session, round_id: str) -> None:
    """Hold the round's row until this transaction ends, so that settling its ballots (after an
    ingest, in a ranking) happens one transaction at a time: a ranking that read the ballots
    before an ingest committed would otherwise write back statuses settled without the new
    ballot (two accepted ballots for one seat). On PostgreSQL a row lock; SQLite already lets
    one writer at a time.

    FOR NO KEY UPDATE, not FOR UPDATE: it excludes the other settlings all the same, but not
    the key-share lock every ballot insert takes on its round (the foreign key). With FOR
    UPDATE, an ingest holding the audit lock waited here on other ingests' inserted ballots,
    while they waited on its audit lock: three workers on one round's sources stalled for
    minutes (tests/e2e/test_scale_out.py, tests/jobs/test_round_lock.py)."""
    session.execute(select(Round.id).where(Round.id == round_id).with_for_update(key_share=True))


def find_round(session: Session, round_id: str) -> Round | None:
    """The round, or None when there is no such round."""
    return session.get(Round, round_id)


def get_round(session: Session, round_id: str) -> Round:
    """The round; an unknown round is refused with a message that names it."""
    rnd = find_round(session, round_id)
    if rnd is None:
        raise StoreError(f"unknown round {round_id!r}")
    return rnd


def list_rounds(
    session: Session, status: str | None = None, limit: int | None = None
) -> list[Round]:
    """Rounds, newest first; only those in ``status`` when given, at most ``limit``."""
    query = select(Round).order_by(Round.created_at.desc())
    if status is not None:
        query = query.where(Round.status == status)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def set_panel(session: Session, round_id: str, member_ids: list[str]) -> list[tuple[Seat, Member]]:
    """Seat a designated panel (e.g. county leaders): one seat and fresh token per member."""
    rnd = get_round(session, round_id)
    if session.scalar(select(func.count(Seat.id)).where(Seat.round_id == round_id)):
        raise StoreError(f"round {round_id!r} already has a panel")
    if not member_ids:
        raise StoreError("the panel file names no evaluators")
    seen: set[str] = set()
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(member_ids)))}
    groups = {g.id: g.name for g in session.scalars(select(Group))}
    seated = []
    for line, mid in enumerate(member_ids, start=1):
        if mid in seen:
            raise StoreError(f"panel file, line {line}: evaluator {mid!r} is listed twice")
        seen.add(mid)
        member = members.get(mid)
        if member is None:
            raise StoreError(f"panel file, line {line}: {mid!r} is not in the pool")
        if not member.active:
            raise StoreError(f"panel file, line {line}: {mid!r} is not an active pool member")
        seat = Seat(
            round_id=round_id,
            token=new_token(),
            group_name=groups[member.group_id],
            status="active",
            created_at=utcnow(),
        )
        session.add(seat)
        session.flush()
        session.add(SeatHolder(seat_id=seat.id, member_id=mid))
        seated.append((seat, member))
    rnd.panel_method = "designated"
    # The audit record names members and groups but never tokens: tokens are bearer secrets.
    append_audit(
        session,
        "panel.set",
        {"seats": len(seated), "members": sorted(seen), "pool_sha256": pool_fingerprint(session)},
        round_id,
    )
    return seated


def panel(session: Session, round_id: str) -> list[tuple[Seat, str]]:
    """The round's seats with the holder's pool id, in seat order."""
    get_round(session, round_id)
    rows = session.execute(
        select(Seat, SeatHolder.member_id)
        .join(SeatHolder, SeatHolder.seat_id == Seat.id)
        .where(Seat.round_id == round_id)
        .order_by(Seat.id)
    )
    return [(seat, member_id) for seat, member_id in rows]


def seat_tokens(session: Session, round_id: str) -> dict[str, tuple[int, str]]:
    """Every seat of the round by its token: (seat id, seat status), whatever the status."""
    return {
        token: (seat_id, status)
        for seat_id, token, status in session.execute(
            select(Seat.id, Seat.token, Seat.status).where(Seat.round_id == round_id)
        )
    }


def active_seats(session: Session, round_id: str) -> list[tuple[str, str, frozenset[str]]]:
    """(token, group, recused unit codes) of each active seat; recusals are the holder's
    conflicts. Two set-wise queries whatever the size of the panel."""
    recusals: dict[int, set[str]] = {}
    for seat_id, unit_code in session.execute(
        select(SeatHolder.seat_id, Conflict.unit_code)
        .join(Conflict, Conflict.member_id == SeatHolder.member_id)
        .join(Seat, Seat.id == SeatHolder.seat_id)
        .where(Seat.round_id == round_id)
    ):
        recusals.setdefault(seat_id, set()).add(unit_code)
    return [
        (token, group, frozenset(recusals.get(seat_id, ())))
        for seat_id, token, group in session.execute(
            select(Seat.id, Seat.token, Seat.group_name).where(
                Seat.round_id == round_id, Seat.status == "active"
            )
        )
    ]


def count_active_seats(session: Session, round_id: str) -> int:
    return (
        session.scalar(
            select(func.count(Seat.id)).where(Seat.round_id == round_id, Seat.status == "active")
        )
        or 0
    )


def seated_members(session: Session, round_id: str) -> list[tuple[str, str, str, str]]:
    """(member id, name, group, token) of each active seat, by group and member id: what the
    office needs to send each member their link. Never for a viewer."""
    return [
        (member_id, name, group, token)
        for member_id, name, group, token in session.execute(
            select(SeatHolder.member_id, Member.name, Seat.group_name, Seat.token)
            .join(Seat, Seat.id == SeatHolder.seat_id)
            .join(Member, Member.id == SeatHolder.member_id)
            .where(Seat.round_id == round_id, Seat.status == "active")
            .order_by(Seat.group_name, SeatHolder.member_id)
        )
    ]


def add_veto(
    session: Session,
    round_id: str,
    unit_code: str,
    reason: str,
    by: str | None,
    decided_on: date | None = None,
    timezone: str = "Asia/Shanghai",
    actor: str = "cli",
) -> Veto:
    """Record a one-vote veto; the reason is mandatory because the circular publishes it.

    ``decided_on`` is the date of the decision (default: today in ``timezone``, the issuing
    body's); a date after today is refused, a decision cannot be dated ahead."""
    get_round(session, round_id)
    today = utcnow().astimezone(ZoneInfo(timezone)).date()
    decided_on = decided_on or today
    if decided_on > today:
        raise StoreError(f"a veto cannot be decided on {decided_on.isoformat()}, after today")
    if unit_code not in round_unit_codes(session, round_id):
        known = session.scalars(select(Unit).where(Unit.code == unit_code)).first() is not None
        raise StoreError(
            f"unit {unit_code!r} is not one of round {round_id!r}'s units"
            + (" (it was added or reactivated after the round was created)" if known else "")
        )
    if not reason.strip():
        raise StoreError("a veto needs a reason (--reason)")
    if session.scalars(
        select(Veto).where(Veto.round_id == round_id, Veto.unit_code == unit_code)
    ).first():
        raise StoreError(f"unit {unit_code!r} is already vetoed in round {round_id!r}")
    veto = Veto(
        round_id=round_id,
        unit_code=unit_code,
        reason=reason.strip(),
        by=by,
        at=utcnow(),
        decided_on=decided_on,
    )
    session.add(veto)
    payload = {
        "unit": unit_code,
        "reason": reason.strip(),
        "by": by,
        "date": decided_on.isoformat(),
    }
    append_audit(session, "veto.add", payload, round_id, actor=actor)
    return veto


def remove_veto(
    session: Session,
    round_id: str,
    unit_code: str,
    reason: str,
    by: str | None,
    actor: str = "cli",
) -> Veto:
    """Withdraw a veto (decided in error, or overturned). The audit log keeps the veto and why
    it was withdrawn; the round's ranking must then be computed again."""
    get_round(session, round_id)
    veto = session.scalars(
        select(Veto).where(Veto.round_id == round_id, Veto.unit_code == unit_code)
    ).first()
    if veto is None:
        raise StoreError(f"unit {unit_code!r} is not vetoed in round {round_id!r}")
    if not reason.strip():
        raise StoreError("withdrawing a veto needs a reason (--reason): the audit log keeps it")
    append_audit(
        session,
        "veto.remove",
        {"unit": unit_code, "veto": veto.reason, "reason": reason.strip(), "by": by},
        round_id,
        actor=actor,
    )
    session.delete(veto)
    return veto


def list_vetoes(session: Session, round_id: str) -> list[Veto]:
    """The round's vetoes in the order they were decided (then recorded)."""
    return list(
        session.scalars(
            select(Veto).where(Veto.round_id == round_id).order_by(Veto.decided_on, Veto.at)
        )
    )


def vetoed_units(session: Session, round_id: str) -> list[str]:
    """Codes of the units vetoed in the round."""
    return list(session.scalars(select(Veto.unit_code).where(Veto.round_id == round_id)))
