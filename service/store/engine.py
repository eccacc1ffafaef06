"""The database: engine, migrations, sessions, a readiness ping, and the store's one error
type."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)


MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


class StoreError(ValueError):
    """A request the store refuses, with a message a user can act on."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC, so say so."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Every SQLite engine made in this process, while it lives: the ``pingyi`` program closes their
# connections before it exits (``close_sqlite_engines``).
_SQLITE_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def close_sqlite_engines() -> None:
    """Close the connections of every SQLite engine still alive, so that SQLite folds its
    write-ahead log into the database file now, whatever becomes of the engines' objects."""
    for engine in list(_SQLITE_ENGINES):
        engine.dispose()


def make_engine(url: str, pre_ping: bool = True) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys on and a busy timeout for concurrent CLIs.

    ``pre_ping`` tests each pooled connection before use (one round trip). The web process turns
    it off: on a dead connection the request answers 503, SQLAlchemy drops the whole pool, and
    the sender's retry gets a fresh connection — cheaper than a ping on every delivery.
    """
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # hide_parameters: a logged statement must never carry a token or a payload value.
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - driver hook
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        _SQLITE_ENGINES.add(engine)
        return engine
    return create_engine(url, pool_pre_ping=pre_ping, hide_parameters=True)


def migrate(engine: Engine, timezone: str = "Asia/Shanghai") -> None:
    """Bring the schema to the newest Alembic revision (idempotent). ``timezone`` is the issuing
    body's (``[circular] timezone``): a migration that turns stored moments into dates needs it.

    Alembic is imported here, not with the module: only ``init`` and the service's start migrate,
    and importing it (with Mako) was a third of every other command's start-up (about 0.5 s of
    1.4 s for ``pingyi ingest``)."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["timezone"] = timezone
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def ping(engine: Engine) -> bool:
    """Whether the database answers a trivial query now (for readiness checks)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
