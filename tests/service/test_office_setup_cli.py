"""Setting up and daily use (issue #14): ``pingyi init --example-config`` writes a commented
pingyi.toml that pingyi reads back as its defaults and never overwrites one; ``pingyi draw
--help`` shows the draw itself, not only its subcommands."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main
from service.config import CircularSettings, load_config


def test_the_example_config_is_written_once_and_reads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(main, ["init", "--example-config"])
    assert first.exit_code == 0, first.output
    path = tmp_path / "pingyi.toml"
    text = path.read_text(encoding="utf-8")
    for key in ("body", "doc_number", "recipients", "cc", "timezone", "[circular.quarterly]",
                "[circular.semiannual]"):  # fmt: skip
        assert key in text
    assert text.count("\n#") > 20  # commented for the office
    config = load_config({}, path)
    defaults = CircularSettings()
    assert (config.circular.body, config.circular.timezone) == (defaults.body, defaults.timezone)
    assert config.circular.for_kind("quarterly").doc_number == "政法评汇〔{year}〕{seq}号"
    assert not list(tmp_path.glob("*.sqlite"))  # no database touched

    filled = text.replace('body = "县委政法委员会"', 'body = "中共清河县委政法委员会"')
    path.write_text(filled, encoding="utf-8")
    again = runner.invoke(main, ["init", "--example-config"])
    assert again.exit_code == 1 and "not overwritten" in again.output
    assert load_config({}, path).circular.body == "中共清河县委政法委员会"

    other = runner.invoke(main, ["init", "--example-config", "--config", "office.toml"])
    assert other.exit_code == 0 and (tmp_path / "office.toml").read_text(encoding="utf-8") == text


def test_draw_help_shows_the_draw_itself() -> None:
    shown = CliRunner().invoke(main, ["draw", "--help"])
    assert shown.exit_code == 0
    assert "pingyi draw ROUND_ID --numbers" in shown.output
    assert "pingyi draw ROUND_ID --seed" in shown.output
    for command in ("announce", "verify", "replace", "stats"):
        assert command in shown.output
    run = CliRunner().invoke(main, ["draw", "2026-10", "--help"])
    assert "--numbers" in run.output and "--seats" in run.output


def test_make_serve_takes_the_port_and_database_from_its_variables() -> None:
    """A dry run: every step names SERVE_DB's database, honcho gets PORT, nothing says pingyi."""
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/office_check"
    dry = subprocess.run(
        ["make", "-n", "serve", "PORT=8123", f"SERVE_DB={url}"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    steps = dry[dry.index("SERVE_CREATEDB") :]
    assert steps.count(url) == 3  # created if missing, initialised, served
    assert "/pingyi'" not in steps and "datname='pingyi'" not in steps
    assert "honcho start -f Procfile -p 8123" in steps
