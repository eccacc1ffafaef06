"""The office's daily commands say what happened and refuse what can only be a mistake (issue #9,
items 5 and 14), on both databases.

``ingest`` reports this file's rejections and fails when none of its records counts; a system
typed differently is refused with the close match; import and ballot files far beyond any
county or province are refused whole, with nothing stored.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select, update

from connectors.canonical import RawRecord
from jobs.imports import MAX_IMPORT_ROWS
from jobs.ingest import MAX_FILE_RECORDS, ingest_records
from service.models.audit import AuditEntry
from service.models.ballots import Ballot
from service.models.inbox import InboxDelivery
from service.models.reference import System, Unit
from service.rules import Rules
from service.store.engine import make_engine, session_scope, utcnow
from tests.harness.command_line import Cli

WINDOW = ("--opens", "2026-10-01", "--closes", "2026-10-31")


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def count(cli: Cli, model) -> int:
    with session_scope(make_engine(cli.db)) as s:
        return s.scalar(select(func.count()).select_from(model))


def a_round(cli: Cli, tmp_path: Path) -> None:
    cli(
        "import",
        "units",
        write(tmp_path, "units.csv", "code,name,system\nA,甲,法院\nB,乙,公安局\n"),
    )
    cli("round", "create", "2026-10", *WINDOW)


def test_ingest_reports_this_files_rejections_and_fails_when_none_counts(
    cli: Cli, tmp_path: Path
) -> None:
    a_round(cli, tmp_path)
    first = write(tmp_path, "first.jsonl", "".join(f"first garbage {i}\n" for i in range(25)))
    out = cli("ingest", "2026-10", first, ok=False)
    assert "every record of first.jsonl was rejected" in out
    assert "first.jsonl, line 1: invalid JSON" in out and "… and 5 more rejected" in out
    assert "Traceback" not in out
    assert count(cli, Ballot) == 25  # kept, each with its reason

    # The next file's report names its own rejections only, not the round's so far.
    second = write(tmp_path, "second.jsonl", "not json\n")
    out = cli("ingest", "2026-10", second, ok=False)
    assert "second.jsonl, line 1" in out and "first.jsonl" not in out
    summary = json.loads(cli("ingest", "2026-10", second, "--json", ok=False).split("\nError")[0])
    assert summary["records"] == 1 and summary["rejected"] == 1


def test_a_system_typed_differently_is_refused_with_the_close_match(
    cli: Cli, tmp_path: Path
) -> None:
    out = cli(
        "import",
        "units",
        write(tmp_path, "twins.csv", "code,name,system\nA,甲,法院\nB,乙,法 院\n"),
        ok=False,
    )
    assert (
        "twins.csv, row 3, column system: '法 院' is the system '法院' written differently" in out
    )
    assert count(cli, Unit) == 0 and count(cli, System) == 0

    cli(
        "import",
        "units",
        write(tmp_path, "units.csv", "code,name,system\nA,甲,法院\nB,乙,公安局\n"),
    )
    out = cli(
        "import", "units", write(tmp_path, "typo.csv", "code,name,system\nC,丙,公安\n"), ok=False
    )
    assert "typo.csv, row 2, column system: '公安' is not a declared system" in out
    assert "did you mean '公安局'?" in out and "--new-system" in out
    # An ideographic space is still the same system, even when declared "new".
    out = cli(
        "import", "units", write(tmp_path, "wide.csv", "code,name,system\nC,丙,法\u3000院\n"),
        "--new-system", "法\u3000院", ok=False,
    )  # fmt: skip
    assert "is the system '法院' written differently" in out
    assert count(cli, Unit) == 2 and count(cli, System) == 2

    # A new system is declared by name.
    cli("import", "units", write(tmp_path, "new.csv", "code,name,system\nS,戊,司法局\n"),
        "--new-system", "司法局")  # fmt: skip
    assert count(cli, System) == 3


def test_an_import_file_far_beyond_any_county_is_refused_whole(cli: Cli, tmp_path: Path) -> None:
    rows = "".join(f"U{i},单位{i},法院\n" for i in range(MAX_IMPORT_ROWS + 1))
    out = cli("import", "units", write(tmp_path, "huge.csv", "code,name,system\n" + rows), ok=False)
    assert f"more than {MAX_IMPORT_ROWS:,} rows" in out and "huge.csv" in out
    assert count(cli, Unit) == 0


def test_a_ballot_file_far_beyond_any_round_is_refused_with_nothing_stored(
    cli: Cli, tmp_path: Path
) -> None:
    a_round(cli, tmp_path)
    lines = "".join(f"x{i}\n" for i in range(MAX_FILE_RECORDS + 1))
    out = cli("ingest", "2026-10", write(tmp_path, "huge.jsonl", lines), ok=False)
    assert f"over the {MAX_FILE_RECORDS:,} one file may hold; nothing was stored" in out
    assert count(cli, Ballot) == 0


def test_removing_a_source_keeps_its_ballots_and_never_reuses_its_name(
    cli: Cli, tmp_path: Path
) -> None:
    a_round(cli, tmp_path)
    add = ("source", "add", "hooks", "--kind", "standard-webhooks", "--round", "2026-10")
    cli(*add, "--secret-env", "HOOKS_SECRET")
    engine = make_engine(cli.db)
    with session_scope(engine) as s:  # a delivery waiting in the inbox, as the receiver stores it
        s.add(InboxDelivery(source="hooks", delivery_id="d1", received_at=utcnow(), body=b"{}"))
    out = cli("source", "remove", "hooks", ok=False)
    assert "1 delivery(ies) waiting in the inbox" in out
    with session_scope(engine) as s:  # taken in: one rejected ballot under the source's name
        s.execute(update(InboxDelivery).values(status="done"))
        record = RawRecord("hooks, delivery d1", "{}", error="not a ballot")
        ingest_records(s, "2026-10", "hooks", [record], Rules())

    assert "1 ballot(s) are kept" in cli("source", "remove", "hooks")
    assert "unknown source 'hooks'" in cli("source", "remove", "hooks", ok=False)
    assert count(cli, Ballot) == 1 and count(cli, InboxDelivery) == 1
    out = cli(*add, "--secret-env", "HOOKS_SECRET", ok=False)
    assert "belonged to a removed source" in out and "choose another name" in out
    with session_scope(engine) as s:
        detail = s.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "source.remove")
        ).one()
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["ballots"] == 1 and detail["kind"] == "standard-webhooks"
