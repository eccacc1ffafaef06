"""Shared fixtures: real databases (SQLite and the local PostgreSQL), the CLI, Redis and the
running service. The machinery behind them is in ``tests/harness/``.

Every test that touches a database gets its own: a file in its ``tmp_path`` for SQLite, a
schema of its own in the PostgreSQL database named by ``PINGYI_TEST_PG`` (default: the
machine's ``test`` database). Every test process uses one Redis
database of its own (``tests/harness/redis_claim.py``), flushed around each test that uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.command_line import Cli
from tests.harness.databases import (
    PG_URL,
    PostgresSchemas,
    SqliteTemplate,
    fresh_pg_schema,
    pg_unavailable,
)
from tests.harness.needed import missing

__all__ = ["PG_URL", "Cli", "fresh_pg_schema"]  # imported from here by tests


def _need_pg(unavailable: str | None) -> None:
    """A PostgreSQL test without PostgreSQL fails, with the reason (tests/harness/needed.py)."""
    if unavailable is not None:
        missing("PostgreSQL", unavailable)


@pytest.fixture(scope="session")
def pg_unavailable_reason() -> str | None:
    """Why the test PostgreSQL cannot be used, or None; asked once per test process."""
    return pg_unavailable()


@pytest.fixture(scope="session")
def pg_schemas(pg_unavailable_reason: str | None) -> Iterator[PostgresSchemas]:
    """This session's pool of migrated PostgreSQL schemas, one test at a time each."""
    _need_pg(pg_unavailable_reason)
    schemas = PostgresSchemas()
    try:
        yield schemas
    finally:
        schemas.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    """This session's migrated SQLite file, copied for each test."""
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: SQLite in tmp_path, or a new PostgreSQL schema (for the
    tests of the migrations and of ``pingyi init`` itself)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pingyi.sqlite'}"
        return
    _need_pg(request.getfixturevalue("pg_unavailable_reason"))
    with fresh_pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def migrated_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the newest schema, as ``pingyi init`` leaves it, on SQLite and on
    PostgreSQL (tests/harness/databases.py says how it is made fast)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_template").fresh(tmp_path / "pingyi.sqlite")
        return
    with request.getfixturevalue("pg_schemas").fresh() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, empty SQLite database."""
    return f"sqlite:///{tmp_path / 'pingyi.sqlite'}"


@pytest.fixture
def cli(migrated_db_url: str) -> Cli:
    """A CLI bound to a fresh, initialised database (each test runs on SQLite and PostgreSQL)."""
    return Cli(migrated_db_url)


# --- the running service (issue #5): real PostgreSQL, real Redis, real processes ------------


@pytest.fixture
def pg_url(pg_schemas: PostgresSchemas) -> Iterator[str]:
    """A fresh PostgreSQL database at the newest schema (the service runs on PostgreSQL)."""
    with pg_schemas.fresh() as url:
        yield url


@pytest.fixture(scope="session")
def redis_claim():
    """This test process's Redis database: ``PINGYI_TEST_REDIS``, or one claimed among the spare
    databases, so that concurrent test runs on one machine never flush each other's queues."""
    from tests.harness.redis_claim import claim_redis

    claim = claim_redis()
    try:
        yield claim
    finally:
        claim.release()


@pytest.fixture
def redis_url(redis_claim) -> Iterator[str]:
    """The run's Redis database, flushed before and after the test."""
    redis_claim.refresh()
    redis_claim.flush()
    try:
        yield redis_claim.url
    finally:
        redis_claim.flush()


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium for the browser tests (tests/harness/browser.py)."""
    from tests.harness.browser import require_chromium

    return require_chromium()


@pytest.fixture
def service(pg_url: str, redis_url: str, tmp_path: Path):
    """The service harness (tests/harness/service.py); every process it started dies at
    teardown."""
    from tests.harness.service import ServiceHarness

    harness = ServiceHarness(pg_url, redis_url, tmp_path)
    try:
        yield harness
    finally:
        harness.close()
