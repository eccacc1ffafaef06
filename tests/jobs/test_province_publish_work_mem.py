"""Reading the votes as lists (service/store/vote_arrays.py) gives PostgreSQL enough work_mem to
group them in memory, for that read only: never less than it had, and what it had afterwards."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.store.engine import make_engine
from service.store.vote_arrays import _GROUPING_MEMORY_KB, _memory_for_the_grouping


def _work_mem(session: Session) -> str:
    return session.scalar(text("SELECT current_setting('work_mem')"))


@pytest.mark.parametrize(("before", "inside"), [("4MB", f"{_GROUPING_MEMORY_KB // 1024}MB"),
                                                ("1GB", "1GB")])  # fmt: skip
def test_raised_for_the_read_then_given_back(pg_url: str, before: str, inside: str) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.connect() as connection, Session(bind=connection) as session:
            session.execute(text(f"SET work_mem = '{before}'"))
            with _memory_for_the_grouping(session):
                assert _work_mem(session) == inside
            assert _work_mem(session) == before
    finally:
        engine.dispose()


def test_nothing_to_set_on_sqlite(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with (
            engine.connect() as connection,
            Session(bind=connection) as session,
            _memory_for_the_grouping(session),
        ):
            assert session.scalar(text("SELECT 1")) == 1
    finally:
        engine.dispose()
