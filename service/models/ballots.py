"""Tables of ballots: every version of every response, its votes and comments."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import CODE, Base, UTCDateTime


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
    # How many units the ballot gave points to, counted when it is stored: settling needs this
    # per ballot (recusals are taken off then), and reading it here spares a scan of every vote
    # (docs/scale.md). NULL for a rejected ballot.
    voted_units: Mapped[int | None] = mapped_column(Integer)


class Vote(Base):
    """One answer of an accepted ballot: a unit, a criterion, the label and the exact points.

    ``points`` is decimal text (exact), NULL for a no-vote answer such as 不了解.
    """

    __tablename__ = "votes"
    # Neither a foreign key nor a primary key: a province ingest writes 2.25 million votes, and
    # PostgreSQL checked the key row by row (migration 0011) and kept a unique B-tree of
    # (ballot, unit, criterion) beside the table (migration 0012); together they were most of
    # the ingest. Votes are written in one place, ``service.store.ballots.save_ingest``, in the
    # transaction that inserts their ballots, one row per (unit, criterion) of a ballot's answers
    # (a mapping, so never twice), and ballots are never deleted. What finds a round's votes is
    # ``ix_votes_ballot_id``: a BRIN index on PostgreSQL (ids are drawn in order, so a round's
    # votes lie together; see ``service.store.aggregates.round_votes``), a B-tree elsewhere.
    __table_args__ = (
        Index(
            "ix_votes_ballot_id",
            "ballot_id",
            postgresql_using="brin",
            postgresql_with={"autosummarize": "on"},
        ),
    )
    # The ORM needs an identity for a row; the table itself has no key (above).
    __mapper_args__: ClassVar[dict] = {"primary_key": ["ballot_id", "unit_code", "criterion"]}
    ballot_id: Mapped[int] = mapped_column(Integer)
    unit_code: Mapped[str] = mapped_column(String(CODE))
    criterion: Mapped[str] = mapped_column(String(100))
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
