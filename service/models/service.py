"""Tables of the running service: API tokens and the staff page's sessions, login failures,
subscriptions and their outbox, and each round's outstanding work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UTCDateTime


class ApiToken(Base):
    """A staff bearer token; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # None only for tokens made before expiry existed (migration 0006); new ones always expire.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A staff page login: the browser's cookie holds a random session id, never the token.

    Only the id's SHA-256 is stored, so a copy of the database opens no session. A session dies
    with its token (revoked or expired), when idle too long, at its absolute limit, or at logout
    (which deletes the row).
    """

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginFailure(Base):
    """One refused login, kept for the throttle's window to slow down the address it came from
    when Redis is not there to count (``service/store/sessions.py``); ``key`` is e.g.
    ``addr:203.0.113.7``."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Subscription(Base):
    """An automation endpoint that receives signed events (Standard Webhooks)."""

    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list] = mapped_column(JSON)
    # The NAME of the environment variable holding the whsec_ secret; never the secret.
    secret_env: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxEvent(Base):
    """One event for one subscription; delivered at least once, every attempt logged."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    event: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxAttempt(Base):
    """The log of every delivery attempt: when, the HTTP status or the error, how long."""

    __tablename__ = "outbox_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)


class RoundWork(Base):
    """What a round still needs: a ranking asked for after the last one, a circular to render.

    ``ranking_requested_at`` > ``ranking_done_for`` means a recompute is owed; the ranking job
    records the request time it served, so a ballot arriving mid-job is never left out.
    """

    __tablename__ = "round_work"
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    ranking_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ranking_done_for: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ranking_id: Mapped[int | None] = mapped_column(Integer)
    circular_ranking_id: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_job_id: Mapped[str | None] = mapped_column(String(64))
