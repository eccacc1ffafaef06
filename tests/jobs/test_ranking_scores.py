"""docs/rules.md, a unit's score: scale points, exact means, half-up rounding, trimming,
weighted criteria and group weights, with every expected number worked by hand.

Each test states only its data; ``run_round`` and ``PaperRound`` (tests/jobs/paper_round.py) judge
and score it with the pure functions and return the ranking JSON of ``pingyi rank --json``.
"""

from __future__ import annotations

import pytest

from service.rules import RulesError
from tests.jobs.paper_round import GROUP, SMALL, PaperRound, by_code, columns, run_round


def test_trimmed_mean_65_625_publishes_half_up_as_65_63() -> None:
    # Defaults (min_votes 10, trim 1 each end from n = 7). Ten votes:
    #   sorted 0, 60, 60, 60, 60, 70, 70, 70, 75, 100 -> drop 0 and 100
    #   trimmed sum 60·4 + 70·3 + 75 = 240 + 210 + 75 = 525; 525 / 8 = 65.625 exactly
    #   half up -> 65.63 (half-even would give 65.62, and so does float round(65.625, 2))
    #   untrimmed mean 625 / 10 = 62.5
    ranking = run_round({"A": [60, 70, 0, 60, 70, 100, 60, 70, 75, 60]})
    a = by_code(ranking)["A"]
    assert a["score"] == 65.63
    assert a["votes"] == 10
    assert a["mean"] == 62.5
    assert (a["status"], a["rank_in_system"], a["rank_overall"]) == ("ranked", 1, 1)


def test_half_up_where_float_rounding_would_go_down() -> None:
    # A: 80.14, 80.15, 80.14, 80.15 -> 320.58 / 4 = 80.145 exactly -> half up 80.15
    #    (the binary float 80.145 is 80.14499…, so round(80.145, 2) == 80.14)
    # B: 91.33, 91.34, 91.33, 91.34 -> 365.34 / 4 = 91.335 -> 91.34
    # C: 70.1, 70.2, 70.3 -> 210.6 / 3 = 70.2 exactly (a float sum gives 210.60000000000002)
    ranking = run_round(
        {
            "A": [80.14, 80.15, 80.14, 80.15],
            "B": [91.33, 91.34, 91.33, 91.34],
            "C": [70.1, 70.2, 70.3, None],
        },
        rules=SMALL,
    )
    units = by_code(ranking)
    assert units["A"]["score"] == 80.15
    assert units["B"]["score"] == 91.34
    assert units["C"]["score"] == 70.2


def test_numeric_answers_are_kept_exact() -> None:
    # A: three answers of 87.5 -> 87.5 (not 87.49…, not 88)
    # B: 87.5, 90, 62.25 -> 239.75 / 3 = 79.91666… -> 79.92
    ranking = run_round({"A": [87.5, 87.5, 87.5], "B": [87.5, 90, 62.25]}, rules=SMALL)
    units = by_code(ranking)
    assert units["A"]["score"] == 87.5
    assert units["A"]["mean"] == 87.5
    assert units["B"]["score"] == 79.92


def test_bu_liao_jie_is_no_vote_and_out_of_share_denominators() -> None:
    # A: 满意, 满意, 不满意, 不了解, 不了解 -> votes 3: (100 + 100 + 30) / 3 = 76.666… -> 76.67
    #    满意 share 2/3 = 0.6667, 不满意 share 1/3 = 0.3333 (不了解 not in the denominator)
    # B: 满意 from all five -> 5 votes, 100 (keeps every ballot at ≥ 50% coverage)
    ranking = run_round(
        {
            "A": ["满意", "满意", "不满意", "不了解", "不了解"],
            "B": ["满意"] * 5,
        },
        rules=SMALL,
    )
    units = by_code(ranking)
    assert units["A"]["votes"] == 3
    assert units["A"]["score"] == 76.67
    assert units["A"]["satisfied_share"] == 0.6667
    assert units["A"]["dissatisfied_share"] == 0.3333
    assert (units["B"]["votes"], units["B"]["score"]) == (5, 100.0)
    assert ranking["participation"] == {"seats": 5, "ballots": 5, "valid_ballots": 5}


def test_default_scale_points() -> None:
    # 满意 = 100, 基本满意 = 70, 不满意 = 30, numbers at both ends of [0, 100] accepted.
    ranking = run_round(
        {
            "S": ["满意"] * 3,
            "J": ["基本满意"] * 3,
            "N": ["不满意"] * 3,
            "Z": [0, 0, 100],  # 100 / 3 = 33.333… -> 33.33
        },
        rules=SMALL,
    )
    units = by_code(ranking)
    assert [units[c]["score"] for c in "SJNZ"] == [100.0, 70.0, 30.0, 33.33]


def test_seven_votes_drop_exactly_one_highest_and_one_lowest_six_drop_none() -> None:
    # S7: 10, 20, 30, 40, 50, 60, 100 -> drop 10 and 100 -> 200 / 5 = 40
    #     untrimmed 310 / 7 = 44.2857… -> mean 44.29
    # D7: 0, 0, 60, 60, 60, 100, 100 -> drop ONE 0 and ONE 100 -> 280 / 5 = 56
    #     (dropping every copy of the extremes would give 60)
    # N6: 0, 60, 60, 60, 60, 100 (six votes) -> no trim: 340 / 6 = 56.666… -> 56.67 (trimmed: 60)
    answers = {
        "S7": [10, 20, 30, 40, 50, 60, 100],
        "D7": [0, 0, 60, 60, 60, 100, 100],
        "N6": [0, 60, 60, 60, 60, 100, None],  # P07 votes S7 and D7: 2/3 coverage
    }
    rows = columns(answers)
    ev = PaperRound(dict.fromkeys(answers, "法院"), dict.fromkeys(rows, GROUP), rules=SMALL)
    ev.ingest(ev.ballot(by, row) for by, row in rows.items())
    units = by_code(ev.rank())
    assert (units["S7"]["votes"], units["S7"]["score"], units["S7"]["mean"]) == (7, 40.0, 44.29)
    assert (units["D7"]["votes"], units["D7"]["score"]) == (7, 56.0)
    assert (units["N6"]["votes"], units["N6"]["score"], units["N6"]["mean"]) == (6, 56.67, 56.67)


def test_nine_votes_under_default_min_votes_is_insufficient_with_score_shown() -> None:
    # Defaults. A: ten votes of 满意 -> 100, ranked.
    # B: nine votes 50, 60, 70, 80, 80, 80, 90, 90, 100 (P10 skips B; P10 still covers 1/2)
    #    n = 9 ≥ 7 -> drop 50 and 100 -> 60 + 70 + 80·3 + 90·2 = 550; 550 / 7 = 78.5714… -> 78.57
    #    n = 9 < min_votes 10 -> insufficient: score shown, both ranks null, in no list
    ranking = run_round(
        {"A": ["满意"] * 10, "B": [50, 60, 70, 80, 80, 80, 90, 90, 100, None]},
    )
    units = by_code(ranking)
    b = units["B"]
    assert (b["status"], b["votes"], b["score"]) == ("insufficient", 9, 78.57)
    assert (b["rank_in_system"], b["rank_overall"]) == (None, None)
    assert "B" not in ranking["top"] + ranking["bottom"] + ranking["vetoed"]
    a = units["A"]
    assert (a["status"], a["votes"], a["rank_overall"]) == ("ranked", 10, 1)
    assert ranking["top"] == ["A"]
    assert ranking["bottom"] == ["A"]


def test_weighted_criteria_give_weighted_mean_of_answered_criteria() -> None:
    # Criteria 作风 (weight 2) and 效能 (weight 1).
    # A: P01 作风 90, 效能 基本满意(70) -> (2·90 + 1·70) / 3 = 250/3 = 83.333…
    #    P02 作风 满意 only            -> 100 (weighted mean of the criteria answered)
    #    P03 作风 不了解, 效能 不满意  -> 30
    #    P04 不了解 on both             -> no vote
    #    votes 3; score (250/3 + 100 + 30) / 3 = (250 + 390) / 9 = 640/9 = 71.111… -> 71.11
    #    answers counted: 90, 基本满意, 满意, 不满意 -> 满意 share 1/4, 不满意 share 1/4
    # B: both criteria 满意 from everyone -> 100 (P04 still covers 1 of 2 units)
    both = {"作风": "满意", "效能": "满意"}
    ranking = run_round(
        {
            "A": [
                {"作风": 90, "效能": "基本满意"},
                {"作风": "满意"},
                {"作风": "不了解", "效能": "不满意"},
                {"作风": "不了解", "效能": "不了解"},
            ],
            "B": [both] * 4,
        },
        rules={**SMALL, "criteria": [{"name": "作风", "weight": 2}, {"name": "效能", "weight": 1}]},
    )
    a = by_code(ranking)["A"]
    assert (a["votes"], a["score"]) == (3, 71.11)
    assert (a["satisfied_share"], a["dissatisfied_share"]) == (0.25, 0.25)
    assert by_code(ranking)["B"]["score"] == 100.0
    assert ranking["participation"]["valid_ballots"] == 4


def test_group_weights_renormalise_over_groups_that_voted() -> None:
    # group_weights 人大代表 2, 政协委员 1, 乡村干部 1 (no 乡村干部 on the panel).
    # A: 人大代表 P1 100, P2 80 -> 90; 政协委员 P3 60, P4 40 -> 50
    #    (2·90 + 1·50) / (2 + 1) = 230 / 3 = 76.666… -> 76.67
    #    (unweighted would be 70; dividing by all weights 4 would be 57.5)
    #    untrimmed mean stays the plain mean: 280 / 4 = 70
    # B: only 政协委员 vote (P3 100, P4 90) -> 95 after renormalising over that one group
    members = {"P1": "人大代表", "P2": "人大代表", "P3": "政协委员", "P4": "政协委员"}
    rules = {"min_votes": 2, "group_weights": {"人大代表": 2, "政协委员": 1, "乡村干部": 1}}
    ev = PaperRound({"A": "法院", "B": "法院"}, members, rules=rules)
    ev.ingest(
        [
            ev.ballot("P1", {"A": 100, "B": "不了解"}),
            ev.ballot("P2", {"A": 80}),
            ev.ballot("P3", {"A": 60, "B": 100}),
            ev.ballot("P4", {"A": 40, "B": 90}),
        ]
    )
    units = by_code(ev.rank())
    assert (units["A"]["score"], units["A"]["votes"], units["A"]["mean"]) == (76.67, 4, 70.0)
    assert (units["B"]["score"], units["B"]["votes"]) == (95.0, 2)
    assert (units["A"]["rank_overall"], units["B"]["rank_overall"]) == (2, 1)


def test_group_weights_worked_example_of_the_docs() -> None:
    # docs/rules.md, Group weights: 人大代表 2, 政协委员 1, 乡村干部 1.
    # A: four 人大代表 满意 (100), four 政协委员 不满意 (30), two 乡村干部 基本满意 (70); no group
    #    has 7 votes of its own, so none is trimmed:
    #    (2·100 + 1·30 + 1·70) / (2 + 1 + 1) = 300 / 4 = 75.00; 10 votes; untrimmed 660/10 = 66
    # B: the same but the 乡村干部 answer 不了解: renormalised over the groups that voted,
    #    (2·100 + 1·30) / 3 = 230 / 3 = 76.666… -> 76.67 (8 votes: insufficient, score shown)
    members = {
        **{f"R{i}": "人大代表" for i in range(4)},
        **{f"Z{i}": "政协委员" for i in range(4)},
        **{f"X{i}": "乡村干部" for i in range(2)},
    }
    weights = {"人大代表": 2, "政协委员": 1, "乡村干部": 1}
    ev = PaperRound({"A": "法院", "B": "法院"}, members, rules={"group_weights": weights})
    answer = {"R": "满意", "Z": "不满意", "X": "基本满意"}
    ev.ingest(
        ev.ballot(m, {"A": answer[m[0]], "B": "不了解" if m[0] == "X" else answer[m[0]]})
        for m in members
    )
    units = by_code(ev.rank())
    assert (units["A"]["score"], units["A"]["votes"], units["A"]["mean"]) == (75.0, 10, 66.0)
    assert units["A"]["status"] == "ranked"
    assert (units["B"]["score"], units["B"]["votes"], units["B"]["status"]) == (
        76.67,
        8,
        "insufficient",
    )


def test_group_weights_that_leave_out_a_group_with_seats_are_refused() -> None:
    # 乡村干部 holds a seat but has no weight: it used to weigh 0 without a word (its votes in n
    # but not in the score, and a unit voted on by 乡村干部 alone had no score at all).
    members = {"P1": "人大代表", "P2": "人大代表", "P3": "乡村干部", "P4": "乡村干部"}
    rules = {"min_votes": 2, "group_weights": {"人大代表": 1}}
    ev = PaperRound({"A": "法院", "B": "法院"}, members, rules=rules)
    ev.ingest(
        [
            ev.ballot("P1", {"A": "满意", "B": "不了解"}),
            ev.ballot("P2", {"A": "满意", "B": "不了解"}),
            ev.ballot("P3", {"A": "不了解", "B": "满意"}),
            ev.ballot("P4", {"A": "不了解", "B": "满意"}),
        ]
    )
    with pytest.raises(RulesError) as info:
        ev.rank()
    assert "[rules].group_weights: no weight for group '乡村干部', which holds seats" in str(
        info.value
    )
    # Given a weight, B (voted on by 乡村干部 alone) is ranked on its own score.
    units = by_code(ev.rank({**rules, "group_weights": {"人大代表": 1, "乡村干部": 3}}))
    assert (units["B"]["score"], units["B"]["status"]) == (100.0, "ranked")
