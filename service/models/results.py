"""Tables of results: ranking snapshots and circular versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UTCDateTime


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
    """One file of a circular version (PDF, XLSX or JSON), versioned per round, with its hash."""

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
    # Why this version replaces the one before it (None for version 1): staff must say why.
    reason: Mapped[str | None] = mapped_column(Text)


class ReliabilityReport(Base):
    """The reliability report of one ranking snapshot (docs/reliability.md): the public numbers
    (rank intervals, P(bottom), adjusted scores, agreement, flag counts) and, apart, the
    per-ballot flags, which identify evaluators' behaviour and are shown to admins only."""

    __tablename__ = "reliability_reports"
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("ranking_snapshots.id"), primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), index=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    report: Mapped[dict] = mapped_column(JSON)
    flags: Mapped[list] = mapped_column(JSON)
