"""The audit log's table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.models.ballots import Ballot
from service.models.base import CODE, Base, UTCDateTime


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
