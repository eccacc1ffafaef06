"""Tables of a round: the round, its seats, draws, who holds each seat, and vetoes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import CODE, Base, UTCDateTime


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


class RoundUnit(Base):
    """A unit as the round knows it, fixed when the round is created.

    Units are reference data that change between months (new units, renames, retirements);
    a round keeps its own copy of each unit's name and system, so importing next month's units
    never changes a closed round's ballots, ranking or circular (docs/rules.md, "A round's
    units"). ``system_position`` keeps the order the circular lists the systems in.
    """

    __tablename__ = "round_units"
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    system: Mapped[str] = mapped_column(String(100))
    system_position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str | None] = mapped_column(String(100))


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
    """A panel draw (docs/draw.md): the announcement, then the draw itself, for one round.

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


class Veto(Base):
    """A one-vote veto (一票否决) decision with its reason, who made it and on which day.

    ``decided_on`` is the decision's date as the deciding body dated it (``veto add --date``),
    printed in the circular; ``at`` is when it was recorded in pingyi, which can be weeks later.
    """

    __tablename__ = "vetoes"
    __table_args__ = (UniqueConstraint("round_id", "unit_code", name="uq_vetoes_round_unit"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"))
    unit_code: Mapped[str] = mapped_column(String(CODE))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_on: Mapped[date] = mapped_column(Date)


class Measure(Base):
    """A rectification measure (整改措施) recorded for a unit in a round: the cause found, what
    the unit will do, by when; open until staff mark it done. Open measures are carried forward
    into later rounds' circulars until they are closed (docs/rules.md, Rectification)."""

    __tablename__ = "measures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    unit_code: Mapped[str] = mapped_column(String(CODE))
    cause: Mapped[str] = mapped_column(Text)
    measure: Mapped[str] = mapped_column(Text)
    due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, done
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(200))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(String(200))
    # The round in which it was marked done: its circular reports it closed.
    done_round: Mapped[str | None] = mapped_column(String(CODE))
    done_note: Mapped[str | None] = mapped_column(Text)
