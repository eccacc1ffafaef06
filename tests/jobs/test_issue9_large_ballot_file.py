"""A ballot file with more records than a statement takes parameters (issue #9, item 5).

200,000 lines of non-JSON once ended in ``too many SQL variables``: the ids of a file's ballots
went into one ``IN (...)`` list. Files are now bounded at ``MAX_FILE_RECORDS`` records, which is
still more than PostgreSQL's 65,535 parameters a statement (SQLite here allows 250,000), so a
file between the two must be counted in slices (``service.store.ballots.slices``). Without the
slices this test fails with psycopg's "too many parameters" error instead of the report.
"""

from __future__ import annotations

from sqlalchemy import func, select

from jobs.ingest import MAX_FILE_RECORDS
from service.models.ballots import Ballot
from service.store.engine import make_engine, session_scope
from tests.harness.command_line import Cli

PARAMETERS_PER_STATEMENT = 65_535  # PostgreSQL's wire protocol: a 16-bit parameter count


def test_a_file_over_a_statements_parameters_is_reported_not_crashed(pg_url, tmp_path) -> None:
    records = PARAMETERS_PER_STATEMENT + 1_000
    assert records <= MAX_FILE_RECORDS  # a file the limit lets through
    cli = Cli(pg_url)
    units = tmp_path / "units.csv"
    units.write_text("code,name,system\nA,甲,法院\nB,乙,公安局\n", encoding="utf-8")
    cli("import", "units", str(units))
    cli("round", "create", "2026-10", "--opens", "2026-10-01", "--closes", "2026-10-31")
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("".join(f"not json {i}\n" for i in range(records)), encoding="utf-8")

    out = cli("ingest", "2026-10", str(garbage), ok=False)

    assert "Traceback" not in out and "parameters" not in out, out[-2000:]
    assert "every record of garbage.jsonl was rejected" in out
    assert "garbage.jsonl, line 1: invalid JSON" in out
    with session_scope(make_engine(pg_url)) as session:
        assert session.scalar(select(func.count()).select_from(Ballot)) == records
