"""Tables of reference data: systems, units, groups, pool members and their conflicts."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import CODE, Base


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
    """A pool member (评委库成员). Identifying details live only here.

    "Member" in code everywhere; the table keeps its first name, ``pool_members``, and the
    published JSON (panels, draws, link files) calls a member ``evaluator``, as docs/draw.md does.
    """

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
