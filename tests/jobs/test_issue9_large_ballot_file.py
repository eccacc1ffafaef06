"""A ballot file with more records than a statement takes parameters (issue #9, item 5).

200,000 lines of non-JSON once ended in ``too many SQL variables``: the ids of a file's ballots
went into one ``IN (...)`` list. Files are now bounded at ``MAX_FILE_RECORDS`` records, which is
still more than PostgreSQL's 65,535 parameters a statement (SQLite here allows 250,000), so a
file between the two must be counted in slices (``service.store.ballots.slices``). Without the
slices this test fails with psycopg's "too many parameters" error instead of the report.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from jobs import ingest
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


def _round(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    units = tmp_path / "units.csv"
    units.write_text("code,name,system\nA,甲,法院\n", encoding="utf-8")
    cli("import", "units", str(units))
    cli("round", "create", "2026-10", "--opens", "2026-10-01", "--closes", "2026-10-31")


def test_a_file_of_more_records_than_the_bound_is_refused_whole(
    tmp_path: Path, monkeypatch
) -> None:
    """Lines are counted in large reads first; a file over the bound is refused before anything
    is judged or stored, and blank lines are not records (a file within the bound in records
    but over it in lines goes in)."""
    monkeypatch.setattr(ingest, "MAX_FILE_RECORDS", 5)
    cli = Cli(f"sqlite:///{tmp_path / 'p.sqlite'}")
    _round(cli, tmp_path)
    over = tmp_path / "over.jsonl"
    over.write_text("".join(f"not json {i}\n" for i in range(6)), encoding="utf-8")
    out = cli("ingest", "2026-10", str(over), ok=False)
    assert "over.jsonl: 6 records, over the 5 one file may hold; nothing was stored" in out, out
    within = tmp_path / "within.jsonl"
    within.write_text("\n\n".join(f"not json {i}" for i in range(5)) + "\n\n\n", encoding="utf-8")
    out = cli("ingest", "2026-10", str(within), "--json", ok=None)
    assert json.loads(out)["records"] == 5, out
    last = tmp_path / "no-final-newline.jsonl"
    last.write_text("\n".join(f"not json {i}" for i in range(6)), encoding="utf-8")
    assert "6 records, over the 5" in cli("ingest", "2026-10", str(last), ok=False)
