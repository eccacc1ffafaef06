"""The store on both databases: migrations, idempotent imports, tokens, the audit chain."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, update

from service.models.audit import AuditEntry
from service.models.base import Base
from service.models.reference import Conflict, Member, Unit
from service.models.rounds import Round
from service.store.audit import append_audit, verify_audit_chain
from service.store.engine import make_engine, migrate, session_scope

UNITS = "code,name,system\nFY-01,县人民法院立案庭,法院\nGA-01,城关派出所,公安局\nSF-01,城关司法所,司法局\n"
POOL = "id,name,group,conflicts\nP1,张三,人大代表,FY-01\nP2,李四,政协委员,\nP3,王五,乡村干部,GA-01;SF-01\n"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return str(path)


def test_migrations_build_exactly_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)  # a second init is a no-op
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []


def test_importing_twice_updates_and_never_duplicates(cli, tmp_path: Path) -> None:
    units = write(tmp_path, "units.csv", UNITS)
    assert "3 new" in cli("import", "units", units)
    assert "0 new, 0 updated" in cli("import", "units", units)
    renamed = write(tmp_path, "units2.csv", UNITS.replace("城关派出所", "城关镇派出所"))
    assert "0 new, 1 updated" in cli("import", "units", renamed)
    pool = write(tmp_path, "pool.csv", POOL, "gb18030")
    assert "3 new" in cli("import", "pool", pool)
    assert "0 new, 0 updated" in cli("import", "pool", pool)
    changed = write(tmp_path, "pool2.csv", POOL.replace("GA-01;SF-01", "GA-01"))
    assert "0 new, 1 updated" in cli("import", "pool", changed)
    engine = make_engine(cli.db)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count(Unit.id))) == 3
        assert s.scalar(select(func.count()).select_from(Member)) == 3
        assert sorted(s.scalars(select(Conflict.unit_code).where(Conflict.member_id == "P3"))) == [
            "GA-01"
        ]
        assert s.scalars(select(Unit.name).where(Unit.code == "GA-01")).one() == "城关镇派出所"


def test_pool_conflict_naming_an_unknown_unit_is_refused_with_row(cli, tmp_path: Path) -> None:
    cli("import", "units", write(tmp_path, "units.csv", UNITS))
    bad = write(tmp_path, "pool.csv", POOL.replace("FY-01", "FY-99"))
    out = cli("import", "pool", bad, ok=False)
    assert "pool.csv, row 2, column conflicts" in out and "FY-99" in out
    with session_scope(make_engine(cli.db)) as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 0  # nothing half-written


def test_bad_import_file_names_row_and_column(cli, tmp_path: Path) -> None:
    bad = write(tmp_path, "units.csv", UNITS + "JC-01,县检察院,\n")
    out = cli("import", "units", bad, ok=False)
    assert "units.csv, row 5, column system" in out


def test_panel_tokens_are_long_unique_and_shown_in_spec_shape(cli, tmp_path: Path) -> None:
    cli("import", "units", write(tmp_path, "units.csv", UNITS))
    cli("import", "pool", write(tmp_path, "pool.csv", POOL))
    cli(
        "round",
        "create",
        "2026-10",
        "--kind",
        "monthly",
        "--opens",
        "2026-10-01",
        "--closes",
        "2026-10-31",
    )
    out = cli("panel", "set", "2026-10", write(tmp_path, "panel.txt", "P1\nP2\nP3\n"))
    shown = cli.json("panel", "show", "2026-10")
    assert shown["round"] == "2026-10" and shown["method"] == "designated"
    assert len(shown["pool_sha256"]) == 64
    tokens = [s["token"] for s in shown["seats"]]
    assert len(set(tokens)) == 3
    for token in tokens:
        assert token in out
        # Letters and digits only (platforms keep tokens as access codes), ≥ 128 bits.
        assert re.fullmatch(r"[0-9A-Za-z]{22,36}", token)
        assert len(token) * math.log2(62) >= 128
    assert {(s["evaluator"], s["group"]) for s in shown["seats"]} == {
        ("P1", "人大代表"),
        ("P2", "政协委员"),
        ("P3", "乡村干部"),
    }
    again = cli("panel", "set", "2026-10", str(tmp_path / "panel.txt"), ok=False)
    assert "already has a panel" in again


def test_panel_refuses_unknown_and_repeated_members(cli, tmp_path: Path) -> None:
    cli("import", "units", write(tmp_path, "units.csv", UNITS))
    cli("import", "pool", write(tmp_path, "pool.csv", POOL))
    cli("round", "create", "2026-10", "--opens", "2026-10-01", "--closes", "2026-10-31")
    assert "line 2: 'P9' is not in the pool" in cli(
        "panel", "set", "2026-10", write(tmp_path, "a.txt", "P1\nP9\n"), ok=False
    )
    assert "line 2: evaluator 'P1' is listed twice" in cli(
        "panel", "set", "2026-10", write(tmp_path, "b.txt", "P1\nP1\n"), ok=False
    )
    assert cli.json("panel", "show", "2026-10")["seats"] == []


def test_round_window_is_stored_in_utc_and_read_back_aware(cli, tmp_path: Path) -> None:
    cli("import", "units", write(tmp_path, "units.csv", UNITS))
    cli("round", "create", "2026-10", "--opens", "2026-10-01", "--closes", "2026-10-31")
    with session_scope(make_engine(cli.db)) as s:
        rnd = s.get(Round, "2026-10")
        shanghai = timezone(timedelta(hours=8))
        assert rnd.opens_at == datetime(2026, 10, 1, tzinfo=shanghai)
        assert rnd.closes_at.astimezone(shanghai).date().isoformat() == "2026-10-31"
        assert rnd.closes_at.astimezone(shanghai).hour == 23
        assert rnd.opens_at.tzinfo is not None


def test_round_create_refuses_bad_input(cli, tmp_path: Path) -> None:
    window = ("--opens", "2026-10-01", "--closes", "2026-10-31")
    assert "no active units" in cli("round", "create", "2026-10", *window, ok=False)
    cli("import", "units", write(tmp_path, "units.csv", UNITS))
    assert "must be after" in cli(
        "round", "create", "x", "--opens", "2026-10-05", "--closes", "2026-10-01", ok=False
    )
    assert "not an ISO 8601" in cli("round", "create", "x", "--opens", "yesterday", ok=False)
    assert "--opens and --closes" in cli("round", "create", "2026-10", ok=False)
    assert "--opens and --closes" in cli(
        "round", "create", "2026-10", window[0], window[1], ok=False
    )
    cli("round", "create", "2026-10", *window)
    assert "already exists" in cli("round", "create", "2026-10", *window, ok=False)
    assert "does not exist" in cli(
        "round", "create", "2026-Q4", "--kind", "quarterly", "--of", "2026-11", *window, ok=False
    )
    assert "unknown round" in cli("rank", "2099-01", ok=False)


def test_audit_chain_verifies_and_detects_a_changed_entry(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with session_scope(engine) as s:
        for i in range(3):
            append_audit(s, "test.event", {"i": i, "名称": "评议"}, "2026-10")
    with session_scope(engine) as s:
        assert verify_audit_chain(s) == (True, None)
        second = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()[1]
        s.execute(update(AuditEntry).where(AuditEntry.id == second.id).values(detail={"i": 99}))
    with session_scope(engine) as s:
        assert verify_audit_chain(s) == (False, second.id)


@pytest.mark.parametrize("naive", [datetime(2026, 10, 1)])
def test_store_refuses_naive_datetimes(sqlite_url: str, naive: datetime) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    with pytest.raises(Exception, match="time zone"), session_scope(engine) as s:
        s.add(Round(id="r", kind="monthly", parts=[], status="open", created_at=naive))
        s.flush()
    with session_scope(engine) as s:
        assert s.get(Round, "r") is None  # nothing was stored
        # The same wall-clock time with a zone is stored, as the instant it names.
        s.add(
            Round(
                id="r",
                kind="monthly",
                parts=[],
                status="open",
                created_at=naive.replace(tzinfo=timezone(timedelta(hours=8))),
            )
        )
    with session_scope(engine) as s:
        stored = s.get(Round, "r").created_at
        assert stored == datetime(
            2026, 9, 30, 16, 0, tzinfo=UTC
        ) and stored.utcoffset() == timedelta(0)


def test_concurrent_appends_never_fork_the_audit_chain(pg_url: str) -> None:
    """Workers append from separate transactions at once; the chain must stay one line.
    PostgreSQL only: SQLite serialises writers itself, the advisory lock is PostgreSQL's."""
    from concurrent.futures import ThreadPoolExecutor

    engine = make_engine(pg_url)

    def append(worker: int) -> None:
        for i in range(15):
            with session_scope(engine) as s:
                append_audit(s, "test.concurrent", {"worker": worker, "i": i})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(append, range(4)))
    with session_scope(engine) as s:
        assert verify_audit_chain(s) == (True, None)
        heads = s.scalars(select(AuditEntry.prev_hash)).all()
        assert len(heads) == 60 and len(set(heads)) == 60  # no two entries share a parent
    engine.dispose()


def test_audit_appends_in_other_schemas_of_one_database_do_not_wait(
    pg_schemas,
) -> None:
    """Advisory locks belong to the database, not the schema: keyed by the schema as well, an
    append held open in one schema (another deployment, another test run) does not make an
    append in a second schema wait — or, with row locks in between, deadlock."""
    from sqlalchemy import text as sql_text

    with pg_schemas.fresh() as first, pg_schemas.fresh() as second:
        holder, other = make_engine(first), make_engine(second)
        try:
            with session_scope(holder) as held:
                append_audit(held, "test.held", {})  # the lock is held until this commits
                with session_scope(other) as s:
                    s.execute(sql_text("SET LOCAL lock_timeout = '2s'"))
                    append_audit(s, "test.other", {})  # waited 2 s and failed before
                with session_scope(other) as s:
                    assert verify_audit_chain(s) == (True, None)
                    assert s.scalar(select(func.count()).select_from(AuditEntry)) == 1
        finally:
            holder.dispose()
            other.dispose()
