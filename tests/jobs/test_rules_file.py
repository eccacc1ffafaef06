"""The rules file: docs/rules.md defaults exactly, exact numbers, and refusals that name the key."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from service.config import load_config
from service.rules import Criterion, Rules, RulesError, parse_rules


def test_defaults_are_the_spec_numbers() -> None:
    r = Rules()
    assert r.scale == {"满意": 100, "基本满意": 70, "不满意": 30}
    assert r.no_vote == ("不了解",)
    assert (r.numeric_min, r.numeric_max) == (0, 100)
    assert r.criteria == (Criterion("总体", Fraction(1)),)
    assert r.min_coverage == Fraction(1, 2)
    assert r.quorum == Fraction(2, 3)
    assert (r.min_votes, r.trim_min_n, r.trim, r.top, r.bottom) == (10, 7, 1, 10, 5)
    assert r.cross_system == "raw" and r.group_weights == {}
    assert r.monthly_weight == Fraction(7, 10)


def test_numbers_are_read_exactly() -> None:
    r = parse_rules(
        {"min_coverage": 0.6, "quorum": "2/3", "scale": {"好": 99.9, "差": 0}, "no_vote": []}
    )
    assert r.min_coverage == Fraction(3, 5)  # not the binary float 0.59999…
    assert r.scale["好"] == Fraction(999, 10)
    assert r.as_dict()["quorum"] == "2/3" and r.as_dict()["scale"]["好"] == "99.9"


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"min_vote": 10}, "unknown key 'min_vote'"),
        ({"min_votes": "ten"}, "[rules].min_votes: expected an integer"),
        ({"min_votes": True}, "[rules].min_votes: expected an integer"),
        ({"min_votes": -1}, "[rules].min_votes: must be at least 0"),
        ({"min_coverage": 1.5}, "[rules].min_coverage: must be between 0 and 1"),
        ({"quorum": "two thirds"}, "[rules].quorum: 'two thirds' is not a number"),
        ({"cross_system": "rank"}, '[rules].cross_system: expected "raw" or "zscore"'),
        ({"scale": {"满意": "lots"}}, "[rules].scale.满意: 'lots' is not a number"),
        (
            {"criteria": [{"name": "作风", "weight": 0}]},
            "[rules].criteria[0].weight: must be positive",
        ),
        (
            {"criteria": [{"name": "作风", "wieght": 1}]},
            "[rules].criteria[0]: unknown key 'wieght'",
        ),
        ({"criteria": [{"weight": 1}]}, "[rules].criteria[0]: missing key 'name'"),
        ({"trim": 4}, "[rules].trim: dropping 4 at each end needs trim_min_n above 8"),
        ({"no_vote": ["满意"]}, "label '满意' is both in scale and no_vote"),
        ({"numeric_range": [100, 0]}, "[rules].numeric_range: min 100 is above max 0"),
        (
            {"group_weights": {"乡村干部": 0}},
            "[rules].group_weights.乡村干部: weight must be positive",
        ),
    ],
)
def test_bad_rules_are_refused_by_name(rules: dict, message: str) -> None:
    with pytest.raises(RulesError) as exc:
        parse_rules(rules)
    assert message in str(exc.value)


def test_config_file_refuses_unknown_sections_and_keys(tmp_path: Path) -> None:
    path = tmp_path / "pingyi.toml"
    path.write_text("[rule]\nmin_votes = 3\n", encoding="utf-8")
    with pytest.raises(RulesError, match=r"unknown section \[rule\]"):
        load_config({}, path)
    path.write_text('[circular]\nbody = "x"\nmin_comments = "3"\n', encoding="utf-8")
    with pytest.raises(RulesError, match=r"\[circular\].min_comments: expected int"):
        load_config({}, path)
    path.write_text("[rules\n", encoding="utf-8")
    with pytest.raises(RulesError, match=r"pingyi\.toml"):
        load_config({}, path)


def test_config_reads_rules_circular_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "pingyi.toml"
    path.write_text(
        '[rules]\nmin_votes = 3\ncriteria = [{name = "作风", weight = 2}, {name = "效能"}]\n'
        '[circular]\nbody = "某县委政法委员会"\n',
        encoding="utf-8",
    )
    config = load_config({"DATABASE_URL": "sqlite:///x.db", "REDIS_URL": "redis://h/1"}, path)
    assert config.rules.min_votes == 3
    assert [(c.name, c.weight) for c in config.rules.criteria] == [("作风", 2), ("效能", 1)]
    assert config.circular.body == "某县委政法委员会"
    assert config.database_url == "sqlite:///x.db" and config.redis_url == "redis://h/1"
    assert load_config({}, path, database_url="sqlite:///y.db").database_url == "sqlite:///y.db"


def test_a_bad_rules_file_stops_the_cli_with_its_message(tmp_path: Path, sqlite_url: str) -> None:
    from tests.conftest import Cli

    path = tmp_path / "pingyi.toml"
    path.write_text("[rules]\ntop = 10.5\n", encoding="utf-8")
    out = Cli(sqlite_url, config=path)("init", ok=False)
    assert "[rules].top: expected an integer" in out
