"""Bad input around ranking gets a clear error and loses nothing (docs/rules.md, docs/service.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import GROUP, ROUND, SMALL, by_code

TWO_CRITERIA = {**SMALL, "criteria": [{"name": "作风", "weight": 2}, {"name": "效能", "weight": 1}]}


@pytest.fixture
def evaluation(migrated_db_url: str, tmp_path: Path):
    def make(units, members, **kwargs) -> Evaluation:
        return Evaluation(migrated_db_url, tmp_path, units, members, **kwargs)

    return make


def test_values_off_the_scale_are_rejected_and_the_ends_accepted(evaluation) -> None:
    # P1 0 and P2 100 (the ends of [0, 100]) and P3 满意 are accepted: A = 200 / 3 = 66.67.
    # −1, 100.01, an unknown label and a bare "" are each rejected with the value named.
    members = [f"P{i}" for i in range(1, 8)]
    ev = evaluation({"A": "法院"}, dict.fromkeys(members, GROUP), rules=SMALL)
    path = ev.write_ballots(
        [
            ev.ballot("P1", {"A": 0}),
            ev.ballot("P2", {"A": 100}),
            ev.ballot("P3", {"A": "满意"}),
            ev.ballot("P4", {"A": -1}),
            ev.ballot("P5", {"A": 100.01}),
            ev.ballot("P6", {"A": "很满意"}),
            ev.ballot("P7", {"A": ""}),
        ]
    )
    out = ev.cli("ingest", ROUND, str(path))
    assert "accepted 3, superseded 0, rejected 4, invalid 0" in out
    for rid, value in (("r-P4", "-1"), ("r-P5", "100.01"), ("r-P6", "很满意")):
        line = next(x for x in out.splitlines() if f"rejected {rid}:" in x)
        assert value in line
    assert "rejected r-P7:" in out
    a = by_code(ev.rank())["A"]
    assert (a["votes"], a["score"]) == (3, 66.67)


def test_unknown_criterion_and_missing_criteria_split_are_rejected(evaluation) -> None:
    # Two criteria configured: a ballot naming 态度 (not a criterion) is rejected, and so is a
    # bare answer for a unit that has two criteria (which criterion would it be?).
    # P1 作风 90 + 效能 满意 -> (180 + 100) / 3 = 93.33; P2 作风 满意 -> 100; P3 效能 基本满意 -> 70
    # A = (280/3 + 170) / 3 = (280 + 510) / 9 = 790/9 = 87.777… -> 87.78
    members = [f"P{i}" for i in range(1, 6)]
    ev = evaluation({"A": "法院"}, dict.fromkeys(members, GROUP), rules=TWO_CRITERIA)
    counts = ev.ingest(
        [
            ev.ballot("P1", {"A": {"作风": 90, "效能": "满意"}}),
            ev.ballot("P2", {"A": {"作风": "满意"}}),
            ev.ballot("P3", {"A": {"效能": "基本满意"}}),
            ev.ballot("P4", {"A": {"作风": "满意", "态度": "满意"}}),
            ev.ballot("P5", {"A": "满意"}),
        ]
    )
    assert (counts["accepted"], counts["rejected"]) == (3, 2)
    a = by_code(ev.rank())["A"]
    assert (a["votes"], a["score"]) == (3, 87.78)


def test_token_of_another_round_or_unknown_token_is_rejected(evaluation) -> None:
    members = ["P1", "P2", "P3"]
    ev = evaluation({"A": "法院"}, dict.fromkeys(members, GROUP), rules=SMALL)
    october = dict(ev.tokens)
    ev.new_round("2026-11", "2026-11-01", "2026-11-30", members)
    at = "2026-11-10T10:00:00+08:00"
    path = ev.write_ballots(
        [
            ev.ballot("P1", {"A": "满意"}, at=at),
            ev.ballot("P2", {"A": "满意"}, at=at, token=october["P2"], rid="r-old-token"),
            ev.ballot("P3", {"A": "满意"}, at=at, token="not-a-token", rid="r-forged"),
        ]
    )
    out = ev.cli("ingest", "2026-11", str(path))
    assert "accepted 1, superseded 0, rejected 2, invalid 0" in out
    assert "rejected r-old-token:" in out and "rejected r-forged:" in out
    assert ev.rank()["participation"] == {"seats": 3, "ballots": 1, "valid_ballots": 1}


def test_veto_refuses_unknown_unit_duplicate_and_empty_reason(evaluation) -> None:
    ev = evaluation({"A": "法院", "B": "法院"}, {"P1": GROUP}, rules=SMALL)
    assert "not one of round" in ev.cli("veto", "add", ROUND, "NOPE", "--reason", "x", ok=False)
    assert "reason" in ev.cli("veto", "add", ROUND, "A", "--reason", "  ", ok=False)
    assert "unknown round" in ev.cli("veto", "add", "2099-01", "A", "--reason", "x", ok=False)
    ev.veto("A")
    assert "already vetoed" in ev.cli("veto", "add", ROUND, "A", "--reason", "again", ok=False)
    assert ev.cli.json("rank", ROUND, "--force")["vetoed"] == ["A"]  # no ballots: forced


def test_rank_of_unknown_round_is_a_clear_error(evaluation) -> None:
    ev = evaluation({"A": "法院"}, {"P1": GROUP})
    out = ev.cli("rank", "2099-01", "--json", ok=False)
    assert "2099-01" in out
    assert "Traceback" not in out


def test_bad_rules_file_stops_rank_with_the_key_named(evaluation) -> None:
    ev = evaluation({"A": "法院"}, {"P1": GROUP})
    out = ev.cli_with({"cross_system": "z"})("rank", ROUND, ok=False)
    assert "cross_system" in out
    # a typo in a key is refused by name, never silently ignored
    out = ev.cli_with({"min_vote": 3})("rank", ROUND, ok=False)
    assert "min_vote" in out
    # trim 3 at each end needs more than 6 votes before trimming
    out = ev.cli_with({"trim": 3, "trim_min_n": 6})("rank", ROUND, ok=False)
    assert "trim" in out
