"""The sources table: which survey on which platform feeds which round."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import CODE, Base, UTCDateTime


class Source(Base):
    """A survey on a platform feeding one round (docs/connectors.md), with its mapping and poll cursor.

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
