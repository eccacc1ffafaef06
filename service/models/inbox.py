"""The webhook inbox: each delivery stored raw before it is acknowledged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, LargeBinary, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UTCDateTime


class InboxDelivery(Base):
    """A webhook delivery exactly as received (raw body), before any processing."""

    __tablename__ = "inbox"
    __table_args__ = (Unique("source", "delivery_id", name="uq_inbox_source_delivery"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No index of its own: the unique (source, delivery_id) index serves lookups by source,
    # and every index is one more write on the intake hot path.
    source: Mapped[str] = mapped_column(String(100))
    delivery_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    # pending -> done | failed (kept with its error; retried by the sweeper while attempts last)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
