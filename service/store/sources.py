"""Sources and their cursors in the store: the record of which surveys feed which round.

A source's name is also the ``source`` of every ballot it brings in, so ballots are idempotent on
(source name, platform response id). Its cursor moves only through :func:`save_cursor`, which the
poll calls in the same transaction that stores the ballots the cursor covers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from service.models.ballots import Ballot
from service.models.inbox import InboxDelivery
from service.models.reference import Member
from service.models.rounds import Seat, SeatHolder
from service.models.sources import Source
from service.store.audit import append_audit
from service.store.engine import StoreError, utcnow
from service.store.rounds import get_round

# Letters, digits, "-", "_" and "."; no ":" so a source can never be mistaken for the
# ``file:<round>`` key of file ingests.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class SeatRow:
    """A seat as a connector may see it: id, token, status and group, never its holder."""

    seat_id: int
    token: str
    status: str
    group: str


def find_source(session: Session, name: str) -> Source | None:
    return session.scalars(select(Source).where(Source.name == name)).first()


def source_settings(engine: Engine, name: str) -> tuple[str, dict[str, Any]] | None:
    """A source's kind and stored config, or None: the receiver's one read per cache miss."""
    with engine.connect() as conn:
        row = conn.execute(select(Source.kind, Source.config).where(Source.name == name)).first()
    return None if row is None else (row.kind, dict(row.config or {}))


def get_source(session: Session, name: str) -> Source:
    source = find_source(session, name)
    if source is None:
        known = ", ".join(session.scalars(select(Source.name).order_by(Source.name))) or "none"
        raise StoreError(f"unknown source {name!r} (sources: {known})")
    return source


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.name)))


def add_source(
    session: Session,
    name: str,
    kind: str,
    round_id: str,
    config: dict[str, Any],
    mapping: dict[str, Any],
    replace: bool = False,
) -> Source:
    """Store a new source, or (``replace``) its new config and mapping, keeping its cursor."""
    if not NAME.match(name):
        raise StoreError(
            f"source name {name!r}: use 1–64 letters, digits, '-', '_' or '.', starting with a "
            "letter or digit"
        )
    get_round(session, round_id)
    source = find_source(session, name)
    if source is not None and not replace:
        raise StoreError(f"source {name!r} already exists (use --replace to update its mapping)")
    if source is not None and (source.kind, source.round_id) != (kind, round_id):
        raise StoreError(
            f"source {name!r} is a {source.kind} source of round {source.round_id}; "
            "--replace keeps both, so add a new source instead"
        )
    if source is None and (kept := _kept_under(session, name)):
        # Ballots are keyed by (source, response id): a new survey under an old name could
        # collide with the old one's response ids and be taken for their later versions.
        raise StoreError(
            f"source name {name!r} belonged to a removed source whose {kept} ballot(s) and "
            "deliveries are kept under it; choose another name"
        )
    if source is None:
        source = Source(name=name, kind=kind, round_id=round_id, created_at=utcnow())
        session.add(source)
    source.config, source.mapping = config, mapping
    session.flush()
    append_audit(
        session,
        "source.replace" if replace else "source.add",
        {
            "source": name,
            "kind": kind,
            "config": config,
            "columns": len(mapping.get("columns", [])),
        },
        round_id,
    )
    return source


def save_cursor(session: Session, source: Source, cursor: Any) -> None:
    """Move the cursor and clear the last error; call in the transaction that stored the page."""
    source.cursor = cursor
    source.last_poll_at = utcnow()
    source.last_error = None
    session.flush()


def record_poll_error(session: Session, name: str, message: str) -> None:
    """Remember a failed poll (its cursor stays where it was)."""
    source = get_source(session, name)
    source.last_poll_at = utcnow()
    source.last_error = message[:2000]
    session.flush()


def round_seats(session: Session, round_id: str) -> list[SeatRow]:
    """Every seat of the round, whatever its status, in seat order."""
    get_round(session, round_id)
    return [
        SeatRow(sid, token, status, group)
        for sid, token, status, group in session.execute(
            select(Seat.id, Seat.token, Seat.status, Seat.group_name)
            .where(Seat.round_id == round_id)
            .order_by(Seat.id)
        )
    ]


def record_push(session: Session, source: Source, counts: dict[str, int]) -> None:
    """Audit a panel push: counts only, never tokens."""
    append_audit(session, "source.push_panel", {"source": source.name, **counts}, source.round_id)


def seat_holders(session: Session, round_id: str) -> dict[int, tuple[str, str]]:
    """Who holds each seat (pool id, name): for the office that sends the links, never a viewer."""
    return {
        seat_id: (member_id, name)
        for seat_id, member_id, name in session.execute(
            select(SeatHolder.seat_id, Member.id, Member.name)
            .join(Member, Member.id == SeatHolder.member_id)
            .join(Seat, Seat.id == SeatHolder.seat_id)
            .where(Seat.round_id == round_id)
        )
    }


def _kept_under(session: Session, name: str) -> int:
    """Ballots and inbox deliveries stored under a source name."""
    ballots = session.scalar(select(func.count(Ballot.id)).where(Ballot.source == name)) or 0
    inbox = session.scalar(select(func.count(InboxDelivery.id)).where(InboxDelivery.source == name))
    return ballots + (inbox or 0)


def remove_source(session: Session, name: str, actor: str = "cli") -> dict[str, Any]:
    """Stop a source: no more webhooks or polls for it. Everything it brought stays: its
    ballots count as before, its deliveries are kept, and its name is never reused.

    Refused while deliveries of it wait in the inbox: they would have no parser left.
    """
    source = get_source(session, name)
    pending = session.scalar(
        select(func.count(InboxDelivery.id)).where(
            InboxDelivery.source == name, InboxDelivery.status == "pending"
        )
    )
    if pending:
        raise StoreError(
            f"source {name!r} has {pending} delivery(ies) waiting in the inbox; let the worker "
            "take them in (pingyi inbox list) and remove it then"
        )
    ballots = session.scalar(select(func.count(Ballot.id)).where(Ballot.source == name)) or 0
    detail = {"source": name, "kind": source.kind, "config": source.config, "ballots": ballots}
    append_audit(session, "source.remove", detail, source.round_id, actor)
    session.delete(source)
    return detail
