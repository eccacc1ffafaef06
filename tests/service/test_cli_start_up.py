"""``pingyi COMMAND`` imports the module of that command, not every command's: a province
ingest is timed against a loader that imports only its driver (benchmarks/province.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from service.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]


def test_ingest_imports_neither_other_commands_nor_other_platforms() -> None:
    code = (
        "import json, sys\n"
        "from service.cli import main\n"
        "main(['ingest', '--help'], standalone_mode=False)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout.splitlines()[-1]))
    assert "service.cli.rounds" in loaded
    for module in ("service.cli.demo", "service.cli.sources", "service.cli.draw",
                   "service.cli.results", "jobs.sources", "connectors.jinshuju.platform",
                   "requests", "numpy"):  # fmt: skip
        assert module not in loaded, module


def test_every_listed_command_loads_under_its_name() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    for name in COMMANDS:
        assert f"  {name} " in result.output
        assert main.get_command(None, name).name == name  # type: ignore[arg-type]


def test_panel_lists_links() -> None:
    result = CliRunner().invoke(main, ["panel", "--help"])
    assert result.exit_code == 0, result.output
    assert "links" in result.output


def _pingyi(*args: str) -> subprocess.CompletedProcess:
    """The ``pingyi`` program as installed (``service.cli:run``)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "pingyi"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_program_keeps_each_commands_exit_status_and_output(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'p.sqlite'}"
    assert _pingyi("--db", db, "init").returncode == 0
    ok = _pingyi("--db", db, "round", "list", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == []
    refused = _pingyi("--db", db, "ingest", "2026-99", str(tmp_path / "none.jsonl"))
    assert refused.returncode != 0
    assert "2026-99" in refused.stderr + refused.stdout


def test_a_command_leaves_sqlite_with_its_log_folded_in(tmp_path: Path) -> None:
    """The command's connections are closed as it ends (``State.close``): SQLite folds its
    write-ahead log into the database file, and no ``-wal`` file is left beside it."""
    path = tmp_path / "p.sqlite"
    assert _pingyi("--db", f"sqlite:///{path}", "init").returncode == 0
    assert path.exists()
    assert not path.with_name("p.sqlite-wal").exists()
