"""Shared fixtures: real databases (SQLite and the local PostgreSQL) and a CLI runner.

PostgreSQL tests each get a fresh schema (dropped afterwards) in the database named by
``PINGYI_TEST_PG`` (default: the machine's ``test`` database), so tests never see each other.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from service.cli import main

PG_URL = os.environ.get("PINGYI_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        with create_engine(PG_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    return _pg_available()


@contextmanager
def fresh_pg_schema(available: bool) -> Iterator[str]:
    """A new PostgreSQL schema for one test, dropped afterwards (skipped, or failed in CI, when
    PostgreSQL cannot be reached)."""
    if not available:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_URL}")
        pytest.skip("PostgreSQL is not reachable")
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            # Bounded: a backend a killed process left behind must not hang the teardown.
            conn.execute(text("SET lock_timeout = '10s'"))
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: SQLite in tmp_path, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pingyi.sqlite'}"
        return
    with fresh_pg_schema(request.getfixturevalue("pg_available")) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pingyi.sqlite'}"


class Cli:
    """Runs ``pingyi`` in-process against one database and config file."""

    def __init__(self, db: str, config: Path | None = None) -> None:
        self.db = db
        self.config = config
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> str:
        argv = ["--db", self.db]
        if self.config is not None:
            argv += ["--config", str(self.config)]
        result = self.runner.invoke(main, [*argv, *args], catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"pingyi {' '.join(args)} failed:\n{result.output}")
        if not ok and result.exit_code == 0:
            raise AssertionError(
                f"pingyi {' '.join(args)} succeeded but should not:\n{result.output}"
            )
        return result.output

    def json(self, *args: str) -> dict:
        return json.loads(self(*args, "--json"))


@pytest.fixture
def cli(db_url: str) -> Cli:
    """A CLI bound to a fresh, initialised database (each test runs on SQLite and PostgreSQL)."""
    runner = Cli(db_url)
    runner("init")
    return runner


# --- the running service (issue #5): real PostgreSQL, real Redis, real processes ------------


@pytest.fixture
def pg_url(pg_available: bool) -> Iterator[str]:
    """A fresh PostgreSQL schema only (the service tests need PostgreSQL, not SQLite)."""
    with fresh_pg_schema(pg_available) as url:
        yield url


@pytest.fixture(scope="session")
def redis_claim():
    """This session's spare Redis database: ``PINGYI_TEST_REDIS``, or one claimed among dbs
    8–14 so that concurrent test runs on one machine never flush each other's queues."""
    from tests.service_helpers import RedisClaim

    try:
        claim = RedisClaim()
        claim.refresh()
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not usable for the service tests: {exc}")
        pytest.skip(f"Redis is not usable for the service tests: {exc}")
    try:
        yield claim
    finally:
        claim.release()


@pytest.fixture
def redis_url(redis_claim) -> Iterator[str]:
    """The spare Redis database, flushed before and after the test."""
    from redis import Redis

    redis_claim.refresh()
    client = Redis.from_url(redis_claim.url, socket_connect_timeout=2)
    client.flushdb()
    try:
        yield redis_claim.url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def service(pg_url: str, redis_url: str, tmp_path: Path):
    """The service harness (tests/service_helpers.py); every process it started dies at teardown."""
    from tests.service_helpers import ServiceHarness

    harness = ServiceHarness(pg_url, redis_url, tmp_path)
    try:
        yield harness
    finally:
        harness.close()
