"""docs/rules.md, the order: ranks within each system and overall, competition ranks for ties, the
tie-breaks (满意 share, 不满意 share, untrimmed mean, votes), and the z-score comparison across
systems, with every expected number worked by hand (on ``tests/jobs/paper_round.py``).
"""

from __future__ import annotations

from tests.jobs.paper_round import GROUP, SMALL, PaperRound, by_code, columns, run_round


def test_equal_scores_split_by_satisfied_share() -> None:
    # A1: 67.5 ×4 (numbers)                -> 270 / 4 = 67.5, 满意 share 0, 不满意 share 0
    # Z1: 满意, 不满意, 基本满意, 基本满意 -> (100 + 30 + 70 + 70) / 4 = 67.5,
    #     满意 share 1/4 — wins although its 不满意 share (1/4) is worse and its code sorts later
    ranking = run_round(
        {"A1": [67.5] * 4, "Z1": ["满意", "不满意", "基本满意", "基本满意"]},
        rules=SMALL,
    )
    units = by_code(ranking)
    assert units["A1"]["score"] == units["Z1"]["score"] == 67.5
    assert (units["Z1"]["rank_overall"], units["A1"]["rank_overall"]) == (1, 2)
    assert (units["Z1"]["rank_in_system"], units["A1"]["rank_in_system"]) == (1, 2)
    assert [u["code"] for u in ranking["units"]] == ["Z1", "A1"]


def test_equal_score_and_satisfied_share_split_by_dissatisfied_share() -> None:
    # A1: 满意, 不满意, 基本满意, 基本满意 -> 270 / 4 = 67.5; 满意 1/4, 不满意 1/4
    # Z1: 满意, 47.5, 基本满意, 52.5       -> (100 + 47.5 + 70 + 52.5) / 4 = 270 / 4 = 67.5;
    #     满意 1/4, 不满意 0 -> Z1 first
    ranking = run_round(
        {
            "A1": ["满意", "不满意", "基本满意", "基本满意"],
            "Z1": ["满意", 47.5, "基本满意", 52.5],
        },
        rules=SMALL,
    )
    units = by_code(ranking)
    assert units["A1"]["score"] == units["Z1"]["score"] == 67.5
    assert units["A1"]["satisfied_share"] == units["Z1"]["satisfied_share"] == 0.25
    assert (units["Z1"]["rank_overall"], units["A1"]["rank_overall"]) == (1, 2)


def test_equal_score_and_shares_split_by_untrimmed_mean() -> None:
    # All numbers, so both 满意 and 不满意 shares are 0 for both units.
    # A1 (8 votes): 50, 60 ×6, 70 -> trimmed 60·6/6 = 60; untrimmed 480 / 8 = 60
    # Z1 (7 votes): 50, 60 ×5, 100 -> trimmed 60;        untrimmed 450 / 7 = 64.2857… -> Z1 first
    #    (although A1 has more votes; P08 votes on A1 only = 1/2 coverage)
    ranking = run_round(
        {
            "A1": [50, 60, 60, 60, 60, 60, 60, 70],
            "Z1": [50, 60, 60, 60, 60, 60, 100, None],
        },
        rules=SMALL,
    )
    units = by_code(ranking)
    assert units["A1"]["score"] == units["Z1"]["score"] == 60.0
    assert (units["A1"]["mean"], units["Z1"]["mean"]) == (60.0, 64.29)
    assert (units["A1"]["votes"], units["Z1"]["votes"]) == (8, 7)
    assert (units["Z1"]["rank_overall"], units["A1"]["rank_overall"]) == (1, 2)


def test_equal_on_everything_but_votes_split_by_more_votes() -> None:
    # A1: 满意 ×3 -> 100, shares 1 / 0, mean 100, 3 votes
    # Z1: 满意 ×4 -> 100, shares 1 / 0, mean 100, 4 votes -> Z1 first (P04 votes Z1 only: 1/2)
    ranking = run_round({"A1": ["满意"] * 3 + [None], "Z1": ["满意"] * 4}, rules=SMALL)
    units = by_code(ranking)
    assert (units["Z1"]["rank_overall"], units["A1"]["rank_overall"]) == (1, 2)
    assert (units["Z1"]["rank_in_system"], units["A1"]["rank_in_system"]) == (1, 2)


def test_identical_units_share_rank_and_next_rank_is_skipped() -> None:
    # 法院: F1 满意 ×3 = 100; F2, F3 基本满意 ×3 = 70 (identical); F4 不满意 ×3 = 30
    # 公安局: G1 50 ×3 = 50
    # in 法院: F1 1, F2 2, F3 2, F4 4; in 公安局: G1 1
    # overall: F1 100 -> 1, F2 = F3 70 -> 2, 2, G1 50 -> 4, F4 30 -> 5
    ranking = run_round(
        {
            "F1": ["满意"] * 3,
            "F2": ["基本满意"] * 3,
            "F3": ["基本满意"] * 3,
            "F4": ["不满意"] * 3,
            "G1": [50] * 3,
        },
        rules=SMALL,
        systems={"G1": "公安局"},
    )
    units = by_code(ranking)
    assert [units[c]["rank_in_system"] for c in ("F1", "F2", "F3", "F4", "G1")] == [1, 2, 2, 4, 1]
    assert [units[c]["rank_overall"] for c in ("F1", "F2", "F3", "G1", "F4")] == [1, 2, 2, 4, 5]
    assert [u["rank_overall"] for u in ranking["units"]] == [1, 2, 2, 4, 5]


def test_ranks_within_each_system_and_overall() -> None:
    # 法院: F1 95, F2 80; 检察院: J1 90, J2 70 (three identical numeric votes each)
    # in system: F1 1, F2 2 | J1 1, J2 2; overall: F1 1, J1 2, F2 3, J2 4
    ranking = run_round(
        {"F1": [95] * 3, "F2": [80] * 3, "J1": [90] * 3, "J2": [70] * 3},
        rules=SMALL,
        systems={"J1": "检察院", "J2": "检察院"},
    )
    units = by_code(ranking)
    assert {c: (u["rank_in_system"], u["rank_overall"]) for c, u in units.items()} == {
        "F1": (1, 1),
        "F2": (2, 3),
        "J1": (1, 2),
        "J2": (2, 4),
    }
    assert [u["code"] for u in ranking["units"]] == ["F1", "J1", "F2", "J2"]
    assert ranking["top"] == ["F1", "J1", "F2", "J2"]


def test_insufficient_unit_takes_no_rank_number() -> None:
    # min_votes 3. A 满意 ×3 = 100 (rank 1); B 满意 ×2 = 100 but only 2 votes -> insufficient;
    # C 基本满意 ×3 = 70 -> rank 2 (B does not use up a rank number)
    ranking = run_round(
        {"A": ["满意"] * 3, "B": ["满意", "满意", None], "C": ["基本满意"] * 3}, rules=SMALL
    )
    units = by_code(ranking)
    assert (units["B"]["status"], units["B"]["score"], units["B"]["rank_overall"]) == (
        "insufficient",
        100.0,
        None,
    )
    assert (units["A"]["rank_overall"], units["C"]["rank_overall"]) == (1, 2)
    assert (units["A"]["rank_in_system"], units["C"]["rank_in_system"]) == (1, 2)
    assert (ranking["top"], ranking["bottom"]) == (["A", "C"], ["C", "A"])


def test_zscore_cross_system_changes_overall_order() -> None:
    # 法院 F1 95, F2 90, F3 85; 公安局 G1 80, G2 72, G3 58 (three equal numeric votes each).
    # raw overall: F1 1, F2 2, F3 3, G1 4, G2 5, G3 6
    # zscore (population SD within the system):
    #   法院 mean 90, deviations 5, 0, −5, var 50/3, sd 4.0825 -> z 1.2247, 0, −1.2247
    #   公安局 mean 70, deviations 10, 2, −12, var 248/3, sd 9.0921 -> z 1.0999, 0.2200, −1.3198
    #   overall: F1 1.2247 (1), G1 1.0999 (2), G2 0.2200 (3), F2 0 (4), F3 −1.2247 (5),
    #            G3 −1.3198 (6)
    # ranks within a system and published scores do not change; top 3 = F1, G1, G2
    scores = {"F1": 95, "F2": 90, "F3": 85, "G1": 80, "G2": 72, "G3": 58}
    rows = columns({c: [s] * 3 for c, s in scores.items()})
    systems = {c: "法院" if c.startswith("F") else "公安局" for c in scores}
    ev = PaperRound(systems, dict.fromkeys(rows, GROUP), rules={**SMALL, "top": 3, "bottom": 2})
    ev.ingest(ev.ballot(by, row) for by, row in rows.items())

    raw = ev.rank()
    assert [u["code"] for u in raw["units"]] == ["F1", "F2", "F3", "G1", "G2", "G3"]
    assert [u["rank_overall"] for u in raw["units"]] == [1, 2, 3, 4, 5, 6]
    assert (raw["top"], raw["bottom"]) == (["F1", "F2", "F3"], ["G3", "G2"])

    z = ev.rank({**SMALL, "top": 3, "bottom": 2, "cross_system": "zscore"})
    assert [u["code"] for u in z["units"]] == ["F1", "G1", "G2", "F2", "F3", "G3"]
    assert [u["rank_overall"] for u in z["units"]] == [1, 2, 3, 4, 5, 6]
    assert (z["top"], z["bottom"]) == (["F1", "G1", "G2"], ["G3", "F3"])
    zu, ru = by_code(z), by_code(raw)
    for code in scores:
        assert zu[code]["score"] == ru[code]["score"] == scores[code]
        assert zu[code]["rank_in_system"] == ru[code]["rank_in_system"]


def test_zscore_ties_across_systems_fall_to_the_tie_breaks() -> None:
    # 公安局 scores are exactly 2 × 法院 scores + 31.43, so each 公安局 unit has exactly the
    # z-score of its 法院 counterpart:
    #   法院   F1 27,    F2 22.44, F3 24.94: mean 74.38/3 = 24.7933…, deviations 2.2067,
    #          −2.3533, 0.1467, var 3.4764, sd 1.8645 -> z 1.1835, −1.2622, 0.0787
    #   公安局 G1 85.43, G2 76.31, G3 81.31 = 2·(27, 22.44, 24.94) + 31.43 -> the same z
    # Each pair is equal on z and on both shares (numbers: 0 and 0), so the higher untrimmed
    # mean decides: G1 (85.43) before F1 (27), G3 before F3, G2 before F2.
    scores = {"F1": 27, "F2": 22.44, "F3": 24.94, "G1": 85.43, "G2": 76.31, "G3": 81.31}
    rows = columns({c: [s] * 3 for c, s in scores.items()})
    systems = {c: "法院" if c.startswith("F") else "公安局" for c in scores}
    ev = PaperRound(systems, dict.fromkeys(rows, GROUP), rules={**SMALL, "cross_system": "zscore"})
    ev.ingest(ev.ballot(by, row) for by, row in rows.items())
    ranking = ev.rank()
    assert [u["code"] for u in ranking["units"]] == ["G1", "F1", "G3", "F3", "G2", "F2"]
    assert [u["rank_overall"] for u in ranking["units"]] == [1, 2, 3, 4, 5, 6]


# ---- ties are judged on the published score, never on hidden decimals (issue #9, item 19) ----


def test_units_equal_at_two_decimals_go_to_the_tie_breaks_whatever_their_exact_scores() -> None:
    # A1: 85, 85, 85.012          -> 255.012 / 3 = 85.004 exactly, published 85.00; 满意 share 0
    # Z1: 满意, 77.494, 77.494    -> 254.988 / 3 = 84.996 exactly, published 85.00; 满意 share 1/3
    # Equal published scores, so the 满意 share decides: Z1 first, although its exact score is
    # lower and its code sorts later (ranking on the exact score would put A1 first).
    ranking = run_round({"A1": [85, 85, "85.012"], "Z1": ["满意", "77.494", "77.494"]}, rules=SMALL)
    units = by_code(ranking)
    assert units["A1"]["score"] == units["Z1"]["score"] == 85.0
    assert (units["Z1"]["rank_overall"], units["A1"]["rank_overall"]) == (1, 2)
    assert (units["Z1"]["rank_in_system"], units["A1"]["rank_in_system"]) == (1, 2)
    assert [u["code"] for u in ranking["units"]] == ["Z1", "A1"]


def test_units_equal_at_two_decimals_and_on_every_tie_break_share_a_rank() -> None:
    # Seven numbers each, so the highest and the lowest are trimmed:
    # U: 40, 60, 60, 60, 60, 60, 80        -> 300 / 5 = 60 exactly
    # V: 40.01, 59.99, 60, 60, 60, 60, 80  -> 299.99 / 5 = 59.998 exactly
    # Both publish 60.00; shares 0 and 0 (numbers), untrimmed mean 420 / 7 = 60, 7 votes each:
    # one rank for both, and the next unit (W, 50.00) is third.
    ranking = run_round(
        {
            "U": [40, 60, 60, 60, 60, 60, 80],
            "V": ["40.01", "59.99", 60, 60, 60, 60, 80],
            "W": [50] * 7,
        },
        rules=SMALL,
    )
    units = by_code(ranking)
    assert units["U"]["score"] == units["V"]["score"] == 60.0
    assert units["U"]["mean"] == units["V"]["mean"] == 60.0
    assert [units[c]["rank_overall"] for c in "UVW"] == [1, 1, 3]
    assert [units[c]["rank_in_system"] for c in "UVW"] == [1, 1, 3]


# ---- zscore: the population is the system's ranked units, vetoed ones left out (item 18) ------


def test_zscore_population_leaves_out_vetoed_units() -> None:
    # 法院 A1 90, A2 80, A3 40 (vetoed); 公安局 B1 85, B2 75, B3 65 (three equal votes each).
    # Population of 法院 = A1, A2: mean 85, SD 5 -> A1 +1, A2 −1 (A3 −9, placed last as vetoed)
    # 公安局: mean 75, variance (100 + 0 + 100) / 3, SD 8.1650 -> B1 1.2247, B2 0, B3 −1.2247
    # Overall: B1, A1, B2, A2, B3, then A3.
    # (With A3 in the population, 法院 would have mean 70, SD 21.6025 and A2 z = 0.4629,
    # which would put A2 before B2.)
    scores = {"A1": 90, "A2": 80, "A3": 40, "B1": 85, "B2": 75, "B3": 65}
    rows = columns({c: [s] * 3 for c, s in scores.items()})
    systems = {c: "法院" if c.startswith("A") else "公安局" for c in scores}
    ev = PaperRound(systems, dict.fromkeys(rows, GROUP), rules={**SMALL, "cross_system": "zscore"})
    ev.ingest(ev.ballot(by, row) for by, row in rows.items())
    ev.veto("A3")
    ranking = ev.rank()
    assert [u["code"] for u in ranking["units"]] == ["B1", "A1", "B2", "A2", "B3", "A3"]
    assert [u["rank_overall"] for u in ranking["units"]] == [1, 2, 3, 4, 5, 6]
    assert by_code(ranking)["A3"]["status"] == "vetoed"
