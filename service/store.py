"""Persistence: the engine, migrations, the audit chain and the reference data of a round.

Every write goes through here (ballots through ``service.ballot_store``), in explicit
transactions, so the database is always the whole truth about what happened.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, sessionmaker

from service.models import (
    AuditEntry,
    Conflict,
    Group,
    Member,
    RankingSnapshot,
    Round,
    Seat,
    SeatHolder,
    System,
    Unit,
    Veto,
)

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
GENESIS = "0" * 64
AUDIT_LOCK = 0x70696E67  # "ping": the advisory lock that serialises audit appends
# Seat tokens: 32 characters from [0-9A-Za-z] drawn with ``secrets`` = 190 bits, over the 128 the
# SPEC requires. Letters and digits only, at most 36 long, because survey platforms keep tokens
# as access codes (LimeSurvey strips anything else and cuts at 36) and they go into URLs as is.
TOKEN_LENGTH = 32
TOKEN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ROUND_KINDS = ("monthly", "quarterly", "semiannual")


class StoreError(ValueError):
    """A request the store refuses, with a message a user can act on."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC, so say so."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, pre_ping: bool = True) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys on and a busy timeout for concurrent CLIs.

    ``pre_ping`` tests each pooled connection before use (one round trip). The web process turns
    it off: on a dead connection the request answers 503, SQLAlchemy drops the whole pool, and
    the sender's retry gets a fresh connection — cheaper than a ping on every delivery.
    """
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # hide_parameters: a logged statement must never carry a token or a payload value.
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - driver hook
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=pre_ping, hide_parameters=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def canonical_json(data: object) -> str:
    """The serialisation hashes are taken over: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def append_audit(
    session: Session, action: str, detail: dict, round_id: str | None = None, actor: str = "cli"
) -> AuditEntry:
    """Append to the hash chain: hash = SHA-256(prev_hash | canonical entry).

    The chain head commits to everything before it, so a circular that prints the head lets
    anyone holding the log check that nothing was changed afterwards.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Concurrent workers must not both extend the same head: appenders queue on one
        # transaction-scoped advisory lock, and the head is read only once it is held.
        session.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK})
    entry = AuditEntry(
        at=utcnow(),
        actor=actor,
        action=action,
        round_id=round_id,
        detail=detail,
        prev_hash=audit_head(session),
    )
    entry.hash = _entry_hash(entry, entry.prev_hash)
    session.add(entry)
    session.flush()
    return entry


def _entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    """SHA-256(prev_hash | canonical JSON of the entry's time, actor, action, round, detail)."""
    body = {
        "at": as_utc(entry.at).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "round": entry.round_id,
        "detail": entry.detail,
    }
    return sha256_text(prev_hash + "|" + canonical_json(body))


def verify_audit_chain(session: Session) -> tuple[bool, int | None]:
    """Recompute the chain; returns (ok, id of the first entry that does not match)."""
    prev_hash = GENESIS
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        if entry.prev_hash != prev_hash or entry.hash != _entry_hash(entry, prev_hash):
            return False, entry.id
        prev_hash = entry.hash
    return True, None


def audit_head(session: Session) -> str:
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    return last.hash if last else GENESIS


def _system_id(session: Session, name: str, cache: dict[str, int]) -> int:
    if name not in cache:
        system = session.scalars(select(System).where(System.name == name)).first()
        if system is None:
            position = session.scalar(select(func.count(System.id))) or 0
            system = System(name=name, position=position)
            session.add(system)
            session.flush()
        cache[name] = system.id
    return cache[name]


def latest_snapshot(session: Session, round_id: str) -> RankingSnapshot | None:
    """The round's most recent ranking snapshot, if it was ever ranked."""
    return session.scalars(
        select(RankingSnapshot)
        .where(RankingSnapshot.round_id == round_id)
        .order_by(RankingSnapshot.id.desc())
        .limit(1)
    ).first()


def system_names(session: Session) -> list[str]:
    """Systems in the order they were first imported (the order circulars list them in)."""
    return list(session.scalars(select(System.name).order_by(System.position, System.name)))


def upsert_units(session: Session, rows: Iterable, source: str) -> tuple[int, int]:
    """Insert or update units by code (importing again never duplicates); returns (new, updated)."""
    cache: dict[str, int] = {}
    existing = {u.code: u for u in session.scalars(select(Unit))}
    new = updated = 0
    for row in rows:
        system_id = _system_id(session, row.system, cache)
        unit = existing.get(row.code)
        if unit is None:
            session.add(Unit(code=row.code, name=row.name, system_id=system_id, kind=row.kind))
            new += 1
        elif (unit.name, unit.system_id, unit.kind, unit.active) != (
            row.name,
            system_id,
            row.kind,
            True,
        ):
            unit.name, unit.system_id, unit.kind, unit.active = row.name, system_id, row.kind, True
            updated += 1
    append_audit(session, "import.units", {"file": source, "new": new, "updated": updated})
    return new, updated


def upsert_pool(session: Session, rows: list, source: str) -> tuple[int, int]:
    """Insert or update pool members by id, with their groups and conflicts."""
    codes = set(session.scalars(select(Unit.code)))
    for row in rows:
        unknown = [c for c in row.conflicts if c not in codes]
        if unknown:
            raise StoreError(
                f"{source}, row {row.row}, column conflicts: unknown unit code {unknown[0]!r}"
                " (import the units first)"
            )
    groups = {g.name: g for g in session.scalars(select(Group))}
    existing = {m.id: m for m in session.scalars(select(Member))}
    new = updated = 0
    for row in rows:
        group = groups.get(row.group)
        if group is None:
            group = groups[row.group] = Group(name=row.group)
            session.add(group)
            session.flush()
        member = existing.get(row.id)
        values = (row.name, group.id, row.township, row.active)
        current = set(
            session.scalars(select(Conflict.unit_code).where(Conflict.member_id == row.id))
        )
        if member is None:
            member = Member(id=row.id, name=row.name, group_id=group.id, township=row.township)
            member.active = row.active
            session.add(member)
            session.flush()
            new += 1
        elif (
            member.name,
            member.group_id,
            member.township,
            member.active,
        ) != values or current != set(row.conflicts):
            member.name, member.group_id, member.township, member.active = values
            updated += 1
        if current != set(row.conflicts):
            for c in session.scalars(select(Conflict).where(Conflict.member_id == row.id)):
                session.delete(c)
            session.flush()
            session.add_all(Conflict(member_id=row.id, unit_code=code) for code in row.conflicts)
    append_audit(session, "import.pool", {"file": source, "new": new, "updated": updated})
    return new, updated


def create_round(
    session: Session,
    round_id: str,
    kind: str,
    opens_at: datetime | None,
    closes_at: datetime | None,
    parts: list[str],
) -> Round:
    """Create a round; a summary round must name existing rounds as its parts."""
    if kind not in ROUND_KINDS:
        raise StoreError(f"round kind must be one of {', '.join(ROUND_KINDS)}, got {kind!r}")
    if session.get(Round, round_id) is not None:
        raise StoreError(f"round {round_id!r} already exists")
    if opens_at and closes_at and closes_at <= opens_at:
        raise StoreError(f"round {round_id!r}: --closes must be after --opens")
    for part in parts:
        if session.get(Round, part) is None:
            raise StoreError(f"round {round_id!r}: constituent round {part!r} does not exist")
    if kind == "monthly" and parts:
        raise StoreError("a monthly round has no constituent rounds (--of)")
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
    append_audit(
        session,
        "round.create",
        {
            "kind": kind,
            "opens_at": opens_at.isoformat() if opens_at else None,
            "closes_at": closes_at.isoformat() if closes_at else None,
            "parts": parts,
        },
        round_id,
    )
    return rnd


def get_round(session: Session, round_id: str) -> Round:
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise StoreError(f"unknown round {round_id!r}")
    return rnd


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


def pool_fingerprint(session: Session) -> str:
    """SHA-256 over the canonical pool: members sorted by id with group, activity and conflicts."""
    groups = {g.id: g.name for g in session.scalars(select(Group))}
    conflicts: dict[str, list[str]] = {}
    for c in session.scalars(select(Conflict)):
        conflicts.setdefault(c.member_id, []).append(c.unit_code)
    rows = [
        [m.id, groups[m.group_id], bool(m.active), sorted(conflicts.get(m.id, []))]
        for m in session.scalars(select(Member).order_by(Member.id))
    ]
    return sha256_text(canonical_json(rows))


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


def add_veto(session: Session, round_id: str, unit_code: str, reason: str, by: str | None) -> Veto:
    """Record a one-vote veto; the reason is mandatory because the circular publishes it."""
    get_round(session, round_id)
    if session.scalars(select(Unit).where(Unit.code == unit_code)).first() is None:
        raise StoreError(f"unknown unit {unit_code!r}")
    if not reason.strip():
        raise StoreError("a veto needs a reason (--reason)")
    if session.scalars(
        select(Veto).where(Veto.round_id == round_id, Veto.unit_code == unit_code)
    ).first():
        raise StoreError(f"unit {unit_code!r} is already vetoed in round {round_id!r}")
    veto = Veto(round_id=round_id, unit_code=unit_code, reason=reason.strip(), by=by, at=utcnow())
    session.add(veto)
    append_audit(
        session, "veto.add", {"unit": unit_code, "reason": reason.strip(), "by": by}, round_id
    )
    return veto
