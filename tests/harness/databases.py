"""Test databases: every test gets its own, SQLite or PostgreSQL, and none sees another's.

Running the Alembic migrations costs about 0.1 s on SQLite and 0.4 s on PostgreSQL, and most
tests want a database at the newest schema. So a test session migrates once and reuses:

- SQLite: one migrated template file, copied into each test's ``tmp_path`` (about 1 ms).
- PostgreSQL: a pool of migrated schemas. A test takes one; afterwards every row is deleted and
  every sequence reset (about 10 ms, where migrating a new schema costs 0.4 s and creating a
  database from a template more, both dominated by the disk). A schema goes back to the pool
  only if it is then exactly as migrated: the same tables, the same Alembic revision, and every
  table empty. Anything else (a lock a killed process still holds, a table a test added, a row
  committed late) and the schema is dropped instead, and the next test gets a new one.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from service.store.engine import make_engine, migrate

PG_URL = os.environ.get("PINGYI_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Schemas this suite creates are named pingyi_test_<pid>_<hex>; the pid lets a later run drop
# what a killed run left behind on this machine.
PREFIX = "pingyi_test_"
_OURS = re.compile(rf"^{PREFIX}(\d+)_[0-9a-f]+$")


def pg_unavailable(url: str = PG_URL) -> str | None:
    """Why PostgreSQL at ``url`` cannot be used (the driver's first line), or None."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return None
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{make_url(url).render_as_string(hide_password=True)}: {first}"
    finally:
        engine.dispose()


def migrate_url(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (what ``pingyi init`` does)."""
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()


def schema_url(url: str, schema: str) -> str:
    """``url`` with every connection's search path set to ``schema``."""
    return f"{url}?options=-csearch_path%3D{schema}"


def _drop_schema(admin: Engine, schema: str) -> None:
    with admin.connect() as conn:
        # Bounded: a backend a killed process left behind must not hang the teardown.
        conn.execute(text("SET lock_timeout = '10s'"))
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.commit()


@contextmanager
def fresh_pg_schema(url: str = PG_URL) -> Iterator[str]:
    """A new, empty schema in the database at ``url``, dropped afterwards; yields a URL whose
    connections use it."""
    schema = f"{PREFIX}{os.getpid()}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema_url(url, schema)
    finally:
        _drop_schema(admin, schema)
        admin.dispose()


class PostgresSchemas:
    """This session's pool of migrated PostgreSQL schemas (see the module docstring)."""

    def __init__(self, url: str = PG_URL) -> None:
        self.url = url
        self.admin = create_engine(url)
        self.free: list[str] = []
        self.made: set[str] = set()
        self.tables: frozenset[str] | None = None  # as migrated, from the first schema
        self.revision: str | None = None
        self._drop_leftovers()

    def _drop_leftovers(self) -> None:
        """Drop schemas of test runs on this machine whose process is gone (killed runs)."""
        if make_url(self.url).host not in (None, "localhost", "127.0.0.1", "::1"):
            return  # another machine's pids mean nothing here
        with self.admin.connect() as conn:
            names = conn.execute(text("select nspname from pg_namespace")).scalars().all()
        for name in names:
            match = _OURS.match(name)
            if match and not Path(f"/proc/{match.group(1)}").exists():
                _drop_schema(self.admin, name)

    def _new(self) -> str:
        schema = f"{PREFIX}{os.getpid()}_{uuid.uuid4().hex[:10]}"
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        self.made.add(schema)
        migrate_url(schema_url(self.url, schema))
        if self.tables is None:
            self.tables, self.revision = self._shape(schema)
        return schema

    def _shape(self, schema: str) -> tuple[frozenset[str], str]:
        with self.admin.connect() as conn:
            tables = conn.execute(
                text("select tablename from pg_tables where schemaname = :s"), {"s": schema}
            ).scalars()
            revision = conn.execute(text(f'select version_num from "{schema}".alembic_version'))
            return frozenset(tables), revision.scalar_one()

    def _clean(self, schema: str) -> bool:
        """Empty every table and reset every sequence; True if the schema is now exactly as
        migrated and may serve another test."""
        if self._shape(schema) != (self.tables, self.revision):
            return False
        data = sorted(t for t in self.tables or () if t != "alembic_version")
        with self.admin.begin() as conn:
            sequences = conn.execute(
                text("select sequencename from pg_sequences where schemaname = :s"), {"s": schema}
            ).scalars()
            # One round trip. Rows go regardless of the order foreign keys would need (the
            # tables are emptied together): session_replication_role needs a superuser, as the
            # default test role is; without one this fails and the schema is dropped instead.
            resets = (f'SELECT setval(\'"{schema}"."{q}"\', 1, false); ' for q in sequences)
            conn.exec_driver_sql(
                "SET LOCAL lock_timeout = '2s'; SET LOCAL session_replication_role = replica; "
                + "".join(f'DELETE FROM "{schema}"."{t}"; ' for t in data)
                + "".join(resets)
            )
        with self.admin.connect() as conn:
            rows = " UNION ALL ".join(f'(SELECT 1 FROM "{schema}"."{t}" LIMIT 1)' for t in data)
            return conn.execute(text(f"SELECT count(*) FROM ({rows}) AS left_over")).scalar() == 0

    @contextmanager
    def fresh(self) -> Iterator[str]:
        """A schema at the newest schema revision, empty, for one test."""
        schema = self.free.pop() if self.free else self._new()
        try:
            yield schema_url(self.url, schema)
        finally:
            try:
                reusable = self._clean(schema)
            except Exception:
                reusable = False
            if reusable:
                self.free.append(schema)
            else:
                self.made.discard(schema)
                _drop_schema(self.admin, schema)

    def close(self) -> None:
        for schema in self.made:
            _drop_schema(self.admin, schema)
        self.admin.dispose()


class SqliteTemplate:
    """One migrated SQLite file per test session, copied for each test that asks."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.sqlite"
        migrate_url(f"sqlite:///{self.path}")
        # Disposing the engine checkpointed the write-ahead log: the file alone is the database.
        if self.path.with_name(self.path.name + "-wal").exists():
            raise RuntimeError(f"{self.path} still has a write-ahead log; copies would miss it")

    def fresh(self, path: Path) -> str:
        shutil.copyfile(self.path, path)
        return f"sqlite:///{path}"
