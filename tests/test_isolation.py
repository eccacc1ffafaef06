"""The harness keeps tests apart: a reused PostgreSQL schema comes back exactly as migrated, a
changed one is dropped, SQLite copies share nothing, and the run's Redis database is its own.

The database machinery reuses what it can (tests/harness/databases.py), so these check that
reuse never lets one test see another's rows, ids or tables.
"""

from __future__ import annotations

from pathlib import Path

from redis import Redis
from sqlalchemy import create_engine, text

from tests.harness.databases import PostgresSchemas, SqliteTemplate
from tests.harness.redis_claim import CLAIMS_DB, SERVER, RedisClaim


def _scalar(url: str, sql: str) -> object:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def _schema_exists(schemas: PostgresSchemas, url: str) -> bool:
    name = url.rsplit("%3D", 1)[1]
    with schemas.admin.connect() as conn:
        found = conn.execute(text("select 1 from pg_namespace where nspname = :n"), {"n": name})
        return found.scalar() == 1


def test_a_reused_schema_is_empty_and_its_ids_start_again(pg_schemas: PostgresSchemas) -> None:
    with pg_schemas.fresh() as first:
        for name in ("甲", "乙", "丙"):
            _scalar(first, f"insert into groups (name) values ('{name}') returning id")
    with pg_schemas.fresh() as second:
        assert second == first  # the same schema, back from the pool
        assert _scalar(second, "select count(*) from groups") == 0
        assert _scalar(second, "insert into groups (name) values ('甲') returning id") == 1
        assert _scalar(second, "select version_num from alembic_version") == pg_schemas.revision


def test_a_schema_a_test_changed_is_dropped_not_reused(pg_schemas: PostgresSchemas) -> None:
    with pg_schemas.fresh() as changed:
        _scalar(changed, "create table left_behind (id integer)")
    assert not _schema_exists(pg_schemas, changed)
    with pg_schemas.fresh() as after:
        assert after != changed
        assert _scalar(after, "select to_regclass('left_behind') is null") is True


def test_sqlite_copies_of_the_template_share_nothing(
    sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    one = sqlite_template.fresh(tmp_path / "one.sqlite")
    two = sqlite_template.fresh(tmp_path / "two.sqlite")
    _scalar(one, "insert into groups (name) values ('甲')")
    assert _scalar(one, "select count(*) from groups") == 1
    assert _scalar(two, "select count(*) from groups") == 0
    assert _scalar(two, "select count(*) from alembic_version") == 1


def test_the_runs_redis_database_is_claimed_flushed_and_marked(redis_url: str, redis_claim) -> None:
    client = Redis.from_url(redis_url)
    try:
        assert client.dbsize() == 1  # flushed before the test, then marked as the tests'
        if redis_claim.key is not None:  # claimed, not given by PINGYI_TEST_REDIS
            claims = Redis.from_url(f"{SERVER}/{CLAIMS_DB}")
            assert claims.get(redis_claim.key) == redis_claim.owner.encode()
            assert claims.ttl(redis_claim.key) > 0  # a killed run's claim lapses
            db = int(redis_url.rsplit("/", 1)[1])
            assert not RedisClaim._in_use_by_others(db)  # keys marked as the tests' own
            client.set("someone-elses-key", "1")
            client.delete("pingyi:test-run")
            assert RedisClaim._in_use_by_others(db)  # unmarked keys: someone else's
            claims.close()
    finally:
        client.close()
