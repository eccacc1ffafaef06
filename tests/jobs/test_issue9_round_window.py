"""A round is created with its submission window (issue #9, item 14: a round without --opens
and --closes was accepted with an empty window, so it would take ballots forever and never
close itself). Refused with what to give instead, and nothing is created."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.command_line import Cli


@pytest.mark.parametrize(
    "window",
    [(), ("--opens", "2026-10-01"), ("--closes", "2026-10-31")],
    ids=["neither", "no-closes", "no-opens"],
)
def test_a_round_without_its_window_is_refused(cli: Cli, tmp_path: Path, window) -> None:
    units = tmp_path / "units.csv"
    units.write_text("code,name,system\nU1,立案庭,法院\n", encoding="utf-8")
    cli("import", "units", str(units))
    out = cli("round", "create", "2026-10", *window, ok=False)
    assert "needs its submission window: --opens and --closes" in out, out
    assert "Traceback" not in out
    assert cli.json("round", "list") == []


def test_a_window_that_closes_before_it_opens_is_refused(cli: Cli, tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text("code,name,system\nU1,立案庭,法院\n", encoding="utf-8")
    cli("import", "units", str(units))
    out = cli("round", "create", "2026-10", "--opens", "2026-10-31", "--closes", "2026-10-01",
              ok=False)  # fmt: skip
    assert "--closes must be after --opens" in out, out
    assert cli.json("round", "list") == []
