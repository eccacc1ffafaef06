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
