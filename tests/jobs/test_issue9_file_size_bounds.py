"""Files too large for any county are refused by their size, before a byte is read (issue #9,
item 5: 50 MB of valid-looking unit rows once imported 382,692 units).

``tests/jobs/test_office_commands.py`` covers the row and record bounds; these cover the byte
bounds in front of them (``MAX_IMPORT_BYTES``, ``MAX_FILE_BYTES``). The files are sparse: one
byte past the bound costs no disk and no time, and is refused on its size alone.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from jobs.imports import MAX_IMPORT_BYTES
from jobs.ingest import MAX_FILE_BYTES
from service.models.ballots import Ballot
from service.models.reference import Unit
from service.store.engine import make_engine, session_scope
from tests.harness.command_line import Cli


def sparse(path: Path, head: str, size: int) -> str:
    """A file that starts with ``head`` and is ``size`` bytes long (the rest a hole)."""
    with path.open("wb") as f:
        f.write(head.encode("utf-8"))
        f.truncate(size)
    return str(path)


def count(cli: Cli, model) -> int:
    with session_scope(make_engine(cli.db)) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_an_import_file_over_the_byte_bound_is_refused_unread(cli: Cli, tmp_path: Path) -> None:
    path = sparse(tmp_path / "units.csv", "code,name,system\nA,甲,法院\n", MAX_IMPORT_BYTES + 1)
    out = cli("import", "units", path, ok=False)
    assert f"over the {MAX_IMPORT_BYTES // 2**20} MB an import file may have" in out, out
    assert "units.csv" in out and "Traceback" not in out
    assert count(cli, Unit) == 0


def test_a_ballot_file_over_the_byte_bound_is_refused_unread(cli: Cli, tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text("code,name,system\nA,甲,法院\n", encoding="utf-8")
    cli("import", "units", str(units))
    cli("round", "create", "2026-10", "--opens", "2026-10-01", "--closes", "2026-10-31")
    path = sparse(tmp_path / "ballots.jsonl", "not json\n", MAX_FILE_BYTES + 1)
    out = cli("ingest", "2026-10", path, ok=False)
    assert f"over the {MAX_FILE_BYTES // 2**20} MB a ballot file may have" in out, out
    assert "ballots.jsonl" in out and "Traceback" not in out
    assert count(cli, Ballot) == 0
