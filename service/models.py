"""SQLAlchemy tables: the record of every round, ballot and decision.

The database, not Redis, is the record. Two design choices show here:
- a seat's token (in ``seats``) is stored apart from who holds it (``seat_holders``), so ballots,
  rankings and circulars can be produced and inspected without ever touching identities;
- nothing is deleted: rejected ballots stay with their reason, superseded ones stay beside the
  ballot that won, and ``audit_log`` is an append-only hash chain.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Codes and ids are short identifiers chosen by the body (e.g. "FY-LAT", "P0001").
CODE = 64


class UTCDateTime(TypeDecorator):
    """Aware datetimes stored as UTC and read back aware, on SQLite as on PostgreSQL.

    SQLite keeps no zone: without this, 09:12+08:00 would come back as 09:12 UTC and a ballot
    could be judged late (or early) by eight hours.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing a datetime without a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base; naming conventions keep Alembic constraint names stable."""


Base.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class System(Base):
    """A system the units belong to (法院, 检察院, …); data, not code."""

    __tablename__ = "systems"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Unit(Base):
    """An evaluated unit (评议对象)."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    kind: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Group(Base):
    """An evaluator group of the pool (人大代表, 政协委员, …); data, not code."""

    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Member(Base):
    """A pool member (评委库成员). Identifying details live only here."""

    __tablename__ = "pool_members"
    id: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    township: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Conflict(Base):
    """A member's conflict with a unit: their votes on it are dropped (回避)."""

    __tablename__ = "conflicts"
    member_id: Mapped[str] = mapped_column(
        ForeignKey("pool_members.id", ondelete="CASCADE"), primary_key=True
    )
    unit_code: Mapped[str] = mapped_column(String(CODE), primary_key=True)


class Round(Base):
    """An evaluation round: monthly, quarterly or semiannual, with its submission window."""

    __tablename__ = "rounds"
    id: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="open")
    parts: Mapped[list] = mapped_column(JSON, default=list)
    panel_method: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Seat(Base):
    """A seat of a round and its token; who holds it is in ``seat_holders``.

    ``status`` is ``active``, ``replaced`` (its holder could not serve; ``replaced_by`` names
    the new seat) or ``void`` (its draw was redone with ``--force``). Only active seats vote.
    """

    __tablename__ = "seats"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    token: Mapped[str] = mapped_column(String(128), unique=True)
    group_name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("draws.id"))
    replaced_by: Mapped[int | None] = mapped_column(ForeignKey("seats.id"))


class Draw(Base):
    """A panel draw (SPEC §3): the announcement, then the draw itself, for one round.

    ``pool`` is the frozen snapshot published before the randomness exists (eligible members
    per group, seats per group); ``result`` the ordered lists. The audit log holds the same
    record, so ``pingyi draw verify`` can recompute the draw from the log alone and then check
    these tables against it.
    """

    __tablename__ = "draws"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # announced, drawn, void
    method: Mapped[str] = mapped_column(String(32))
    seats: Mapped[int] = mapped_column(Integer)
    sources: Mapped[list] = mapped_column(JSON, default=list)
    pool: Mapped[dict] = mapped_column(JSON)
    pool_sha256: Mapped[str] = mapped_column(String(64))
    seed: Mapped[str | None] = mapped_column(Text)
    key: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict | None] = mapped_column(JSON)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime())
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SeatHolder(Base):
    """Who holds a seat: used only for validity and recusal, never served to viewers."""

    __tablename__ = "seat_holders"
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id"), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("pool_members.id"), index=True)


class Ballot(Base):
    """One version of a response as received, kept whatever happens to it.

    A platform may send a response again with changed content (an edit, a correction): each
    distinct content is a new ``version`` under the same (source, response id), judged on its
    own, so an accepted version is never overwritten — least of all by a rejected one.
    """

    __tablename__ = "ballots"
    __table_args__ = (
        UniqueConstraint("source", "response_id", "version", name="uq_ballots_source_response"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    source: Mapped[str] = mapped_column(String(100))
    response_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    token: Mapped[str | None] = mapped_column(String(200))
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("seats.id"), index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    raw: Mapped[str] = mapped_column(Text)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)


class Vote(Base):
    """One answer of an accepted ballot: a unit, a criterion, the label and the exact points.

    ``points`` is decimal text (exact), NULL for a no-vote answer such as 不了解.
    """

    __tablename__ = "votes"
    ballot_id: Mapped[int] = mapped_column(
        ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True
    )
    unit_code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    criterion: Mapped[str] = mapped_column(String(100), primary_key=True)
    label: Mapped[str | None] = mapped_column(String(100))
    points: Mapped[str | None] = mapped_column(String(40))


class Comment(Base):
    """A free-text comment of a ballot about a unit; published pooled, redacted, unattributed."""

    __tablename__ = "comments"
    ballot_id: Mapped[int] = mapped_column(
        ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True
    )
    unit_code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class Veto(Base):
    """A one-vote veto (一票否决) decision with its reason, who made it and when."""

    __tablename__ = "vetoes"
    __table_args__ = (UniqueConstraint("round_id", "unit_code", name="uq_vetoes_round_unit"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"))
    unit_code: Mapped[str] = mapped_column(String(CODE))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class RankingSnapshot(Base):
    """A computed ranking, stored whole with the rules and the inputs' digest."""

    __tablename__ = "ranking_snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rules: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict] = mapped_column(JSON)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    audit_hash: Mapped[str] = mapped_column(String(64))


class Circular(Base):
    """A rendered circular (PDF or XLSX), versioned per round, with its file hash."""

    __tablename__ = "circulars"
    __table_args__ = (
        UniqueConstraint("round_id", "version", "format", name="uq_circulars_round_version"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(8))
    ranking_id: Mapped[int] = mapped_column(ForeignKey("ranking_snapshots.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Append-only, hash-chained log: each entry's hash covers the previous entry's hash."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    round_id: Mapped[str | None] = mapped_column(String(CODE), index=True)
    detail: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


Index("ix_ballots_round_status", Ballot.round_id, Ballot.status)


class Source(Base):
    """A survey on a platform feeding one round (SPEC §4), with its mapping and poll cursor.

    ``config`` holds no secret: a secret is named by the environment variable that holds it
    (e.g. ``password_env = "LS_PASSWORD"``) and read only by the process that polls. ``mapping``
    is built once, when the source is added, from the platform's own survey structure, so a
    question the round cannot use is refused then, not discovered in the middle of a month.
    ``cursor`` is the connector's opaque bookmark, moved in the transaction that stores the
    ballots it covers.
    """

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(CODE), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    config: Mapped[dict] = mapped_column(JSON)
    mapping: Mapped[dict] = mapped_column(JSON)
    cursor: Mapped[dict | None] = mapped_column(JSON)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# The running service's tables live in their own module; importing them here puts every table
# on Base.metadata wherever the models are used (migrations, tests).
from service import models_service  # noqa: E402, F401
