"""The rules of docs/rules.md through the CLI, the store and both databases (SQLite and PostgreSQL).

The rules themselves are tested on paper (``test_ranking_*.py`` on ``tests/jobs/paper_round.py``);
here one round that touches every stage (recusal, an invalid ballot, a re-submission, ballots
rejected as late or from no seat, a veto, the lists) must give, through ``pingyi ingest`` and
``pingyi rank --json``, exactly the counts and the ranking JSON the pure functions give, and the
numbers worked by hand. The other tests need what only the store knows: records kept, versions,
the same file delivered twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import GROUP, ROUND, SMALL, PaperRound, by_code

OTHER = "政协委员"


@pytest.fixture
def evaluation(migrated_db_url: str, tmp_path: Path):
    """Factory: ``evaluation(units, members, rules=..., seats=...)`` on this test's database."""

    def make(units, members, **kwargs) -> Evaluation:
        return Evaluation(migrated_db_url, tmp_path, units, members, **kwargs)

    return make


def _a_round_through_every_stage(ev: Evaluation | PaperRound) -> tuple[list[dict], dict]:
    """The same ballots, vetoes and rules on either kind of round: (intake counts, ranking)."""
    first = [
        ev.ballot("P1", {"A": "满意", "B": 90, "C": "基本满意", "D": 80}),
        ev.ballot("P2", {"A": "基本满意", "B": 80, "C": "满意", "D": 70}),
        ev.ballot("P3", {"A": "不满意", "B": 70, "C": "满意", "D": 60}),
        ev.ballot(
            "P4",
            dict.fromkeys("ABCD", "不满意"),
            at="2026-10-05T10:00:00+08:00",
            rid="r-P4-early",
        ),
        ev.ballot("P5", {"A": "满意", "B": 100, "C": "不了解", "D": 90}),  # recused from A
        ev.ballot("P6", dict.fromkeys("ABCD", "不了解")),
    ]
    second = [
        ev.ballot(
            "P4",
            {"A": "满意", "B": "满意", "C": "基本满意", "D": "不了解"},
            at="2026-10-25T10:00:00+08:00",
            rid="r-P4-late",
        ),
        ev.ballot("P3", {"A": "满意"}, at="2026-11-01T00:00:00+08:00", rid="r-P3-late"),
        ev.ballot("P1", {"A": "满意"}, rid="r-nobody", token="no-such-seat"),
    ]
    counts = [ev.ingest(first), ev.ingest(second)]
    ev.veto("D")
    return [{k: c[k] for k in PaperRound.COUNTS} for c in counts], _official(ev.rank())


# What the bootstrap adds beside the official ranking (docs/reliability.md): not on paper.
_REPORTED = ("bottom_confidence", "tied_with", "icc", "bootstrap")


def _official(ranking: dict) -> dict:
    units = [{k: v for k, v in u.items() if k != "uncertainty"} for u in ranking["units"]]
    return {**{k: v for k, v in ranking.items() if k not in _REPORTED}, "units": units}


def test_the_cli_and_the_store_rank_exactly_as_the_rules_on_paper(evaluation) -> None:
    units = {"A": "法院", "B": "法院", "C": "公安局", "D": "公安局"}
    members: dict[str, Any] = {f"P{i}": GROUP if i % 2 else OTHER for i in range(1, 7)}
    members["P5"] = (GROUP, "A")
    rules = {**SMALL, "top": 2, "bottom": 2}
    counts, ranking = _a_round_through_every_stage(evaluation(units, members, rules=rules))
    assert (counts, ranking) == _a_round_through_every_stage(
        PaperRound(units, members, rules=rules)
    )

    # Batch 1: P1–P5 accepted (P5 votes on 2 of the 3 units it is asked: valid), P6 invalid.
    # Batch 2: P4's later ballot accepted (its early one is now superseded); late and no seat
    # rejected.
    assert counts == [
        {"records": 6, "accepted": 5, "superseded": 0, "rejected": 0, "invalid": 1},
        {"records": 3, "accepted": 1, "superseded": 0, "rejected": 2, "invalid": 0},
    ]
    units_by = by_code(ranking)
    # A: P1 100, P2 70, P3 30, P4 100 (P5 recused) -> 300 / 4 = 75; 满意 2/4, 不满意 1/4
    # B: 90, 80, 70, 100, 100 -> 440 / 5 = 88; C: 70, 100, 100, 70 -> 340 / 4 = 85
    # D: 80, 70, 60, 90 -> 300 / 4 = 75, vetoed
    assert {c: (u["votes"], u["score"]) for c, u in units_by.items()} == {
        "A": (4, 75.0),
        "B": (5, 88.0),
        "C": (4, 85.0),
        "D": (4, 75.0),
    }
    assert (units_by["A"]["satisfied_share"], units_by["A"]["dissatisfied_share"]) == (0.5, 0.25)
    assert [u["code"] for u in ranking["units"]] == ["B", "C", "A", "D"]
    assert [u["rank_in_system"] for u in ranking["units"]] == [1, 1, 2, 2]
    assert (ranking["top"], ranking["bottom"], ranking["vetoed"]) == (["B", "C"], ["D", "A"], ["D"])
    # seats 6; ballots 6 (P4's early one superseded); valid 5; 3 · 5 = 15 ≥ 2 · 6 -> valid
    assert ranking["participation"] == {"seats": 6, "ballots": 6, "valid_ballots": 5}
    assert ranking["valid"] is True


def test_ingesting_the_same_file_twice_changes_nothing(evaluation) -> None:
    members = [f"P{i}" for i in range(1, 5)]
    ev = evaluation({"A": "法院", "B": "公安局"}, dict.fromkeys(members, GROUP), rules=SMALL)
    ballots = [
        ev.ballot("P1", {"A": "满意", "B": 88.5}),
        ev.ballot("P2", {"A": "基本满意", "B": "不了解", "C": "满意"}),  # rejected: unknown unit C
        ev.ballot("P3", {"A": "不满意", "B": 61}),
        ev.ballot("P4", {"A": 99.5, "B": "满意"}),
    ]
    path = ev.write_ballots(ballots)
    first = ev.cli.json("ingest", ROUND, str(path))
    assert (first["new"], first["accepted"], first["rejected"]) == (4, 3, 1)
    before = ev.rank()
    second = ev.cli.json("ingest", ROUND, str(path))
    assert second == {
        "records": 4,
        "new": 0,
        "updated": 0,
        "unchanged": 4,
        "accepted": 3,
        "superseded": 0,
        "rejected": 1,
        "invalid": 0,
    }
    after = ev.rank()
    assert after == before
    # A: 100, 30, 99.5 -> 229.5 / 3 = 76.5; B: 88.5, 61, 100 -> 249.5 / 3 = 83.1666… -> 83.17
    assert (by_code(after)["A"]["score"], by_code(after)["B"]["score"]) == (76.5, 83.17)


def test_late_and_early_ballots_are_rejected_and_kept(evaluation) -> None:
    # Window 2026-10-01 00:00 … 2026-10-31 end of day, Asia/Shanghai.
    # P4 at 2026-11-01T00:00:00+08:00 -> after close -> rejected (不满意 votes do not count)
    # P5 at 2026-09-30T23:59:59+08:00 -> before open -> rejected
    # P6 at 2026-10-31T23:59:59+08:00 -> inside -> accepted (满意)
    # P7 at 2026-10-31T15:59:59Z = 23:59:59 +08:00 -> accepted (基本满意)
    # A: P1–P3 满意 + P6 满意 + P7 基本满意 -> (400 + 70) / 5 = 94
    ev = evaluation(
        {"A": "法院"}, dict.fromkeys([f"P{i}" for i in range(1, 8)], GROUP), rules=SMALL
    )
    ballots = [ev.ballot(p, {"A": "满意"}) for p in ("P1", "P2", "P3")]
    ballots += [
        ev.ballot("P4", {"A": "不满意"}, at="2026-11-01T00:00:00+08:00", rid="r-late"),
        ev.ballot("P5", {"A": "不满意"}, at="2026-09-30T23:59:59+08:00", rid="r-early"),
        ev.ballot("P6", {"A": "满意"}, at="2026-10-31T23:59:59+08:00"),
        ev.ballot("P7", {"A": "基本满意"}, at="2026-10-31T15:59:59+00:00"),
    ]
    path = ev.write_ballots(ballots)
    out = ev.cli("ingest", ROUND, str(path))
    assert "accepted 5, superseded 0, rejected 2, invalid 0" in out
    assert "rejected r-late:" in out and "rejected r-early:" in out
    # kept: the same file again finds both rejected records already stored, unchanged
    again = ev.cli.json("ingest", ROUND, str(path))
    assert (again["unchanged"], again["new"], again["rejected"]) == (7, 0, 2)
    ranking = ev.rank()
    assert (by_code(ranking)["A"]["votes"], by_code(ranking)["A"]["score"]) == (5, 94.0)
    assert ranking["participation"] == {"seats": 7, "ballots": 5, "valid_ballots": 5}


def test_participation_counts_seats_ballots_and_valid_ballots(evaluation) -> None:
    # Six seats:
    #   P1–P3 one valid ballot each; P4 one invalid ballot (0 of 2 units voted)
    #   P5 two valid ballots (the earlier superseded) -> one seat, one ballot
    #   P6 only a rejected ballot (unknown unit) -> no accepted ballot
    # seats 6, ballots 5 (P1–P5), valid_ballots 4 (P1–P3, P5); quorum 3·4 = 12 ≥ 12 -> valid
    members = [f"P{i}" for i in range(1, 7)]
    ev = evaluation({"A": "法院", "B": "法院"}, dict.fromkeys(members, GROUP), rules=SMALL)
    ballots = [ev.ballot(p, {"A": "满意", "B": "满意"}) for p in ("P1", "P2", "P3")]
    ballots += [
        ev.ballot("P4", {"A": "不了解", "B": "不了解"}),
        ev.ballot("P5", {"A": "不满意", "B": "满意"}, at="2026-10-02T08:00:00+08:00", rid="r-5a"),
        ev.ballot("P5", {"A": "满意", "B": "满意"}, at="2026-10-03T08:00:00+08:00", rid="r-5b"),
        ev.ballot("P6", {"A": "满意", "X9": "满意"}),
    ]
    counts = ev.ingest(ballots)
    assert counts == {
        "records": 7,
        "new": 7,
        "updated": 0,
        "unchanged": 0,
        "accepted": 4,
        "superseded": 1,
        "rejected": 1,
        "invalid": 1,
    }
    ranking = ev.rank()
    assert ranking["participation"] == {"seats": 6, "ballots": 5, "valid_ballots": 4}
    assert ranking["valid"] is True
    # A: P1–P3 + P5's later ballot, all 满意 -> 4 votes, 100
    assert (by_code(ranking)["A"]["votes"], by_code(ranking)["A"]["score"]) == (4, 100.0)


def test_rejected_resend_under_same_response_id_does_not_replace_accepted_ballot(
    evaluation,
) -> None:
    # P1–P4 answer 满意 on A and B (P4's ballot id r-P4). Later r-P4 arrives again, changed,
    # with an off-scale value (A = 101) -> rejected, kept with its reason; but per docs/rules.md "a
    # rejected ballot never supersedes anything": P4's accepted 满意 still counts.
    # A = 400 / 4 = 100 with 4 votes; participation 4 / 4 / 4.
    members = ["P1", "P2", "P3", "P4"]
    ev = evaluation({"A": "法院", "B": "法院"}, dict.fromkeys(members, GROUP), rules=SMALL)
    ev.ingest(ev.ballot(p, {"A": "满意", "B": "满意"}) for p in members)
    counts = ev.ingest([ev.ballot("P4", {"A": 101, "B": "满意"})])
    assert counts["rejected"] == 1
    ranking = ev.rank()
    assert ranking["participation"] == {"seats": 4, "ballots": 4, "valid_ballots": 4}
    assert by_code(ranking)["A"]["votes"] == 4


def test_rank_refuses_group_weights_that_leave_out_a_group_with_seats(evaluation) -> None:
    # docs/rules.md, Group weights: the round's seats are 人大代表 and 政协委员, the rules weigh
    # only 人大代表 -> refused with the group named, nothing ranked.
    rules = {**SMALL, "group_weights": {GROUP: 1}}
    ev = evaluation({"A": "法院"}, {"P1": GROUP, "P2": OTHER, "P3": GROUP}, rules=rules)
    ev.ingest(ev.ballot(p, {"A": "满意"}) for p in ("P1", "P2", "P3"))
    out = ev.cli("rank", ev.round, ok=False)
    assert f"group_weights: no weight for group '{OTHER}', which holds seats" in out
    ranked = ev.rank({**SMALL, "group_weights": {GROUP: 1, OTHER: 1}})
    assert by_code(ranked)["A"]["score"] == 100.0
