"""docs/rules.md, the lists: the top and bottom lists and their ties at the cut-off, and vetoed units
(last, in no top list, ordered among themselves by the same rules), on
``tests/jobs/paper_round.py``.
"""

from __future__ import annotations

from tests.jobs.paper_round import SMALL, by_code, run_round


def test_tie_at_tenth_place_takes_both_into_top() -> None:
    # U01…U09 score 99 … 91 (ranks 1–9); U10 and U11 both 90 (rank 10, 10); U12 80 (rank 12)
    # top = 10 -> the 10th place is tied -> U01…U11, eleven units
    answers = {f"U{i:02d}": [100 - i] * 3 for i in range(1, 10)}
    answers |= {"U10": [90] * 3, "U11": [90] * 3, "U12": [80] * 3}
    ranking = run_round(answers, rules=SMALL)
    units = by_code(ranking)
    assert (units["U10"]["rank_overall"], units["U11"]["rank_overall"]) == (10, 10)
    assert units["U12"]["rank_overall"] == 12
    assert ranking["top"] == [f"U{i:02d}" for i in range(1, 10)] + ranking["top"][9:]
    assert sorted(ranking["top"][9:]) == ["U10", "U11"]
    assert len(ranking["top"]) == 11


def test_top_list_is_the_first_ten_without_ties() -> None:
    # U01…U12 score 99 … 88: top = U01…U10 in rank order
    ranking = run_round({f"U{i:02d}": [100 - i] * 3 for i in range(1, 13)}, rules=SMALL)
    assert ranking["top"] == [f"U{i:02d}" for i in range(1, 11)]
    # bottom 5 worst first: U12 (88), U11, U10, U09, U08
    assert ranking["bottom"] == ["U12", "U11", "U10", "U09", "U08"]


def test_tie_straddling_bottom_cutoff_takes_all_tied_units() -> None:
    # 8 ranked units: U1 90, U2 85, U3 = U4 = U5 70 (rank 3), U6 65 (6), U7 60 (7), U8 50 (8)
    # the last 5 positions are 4…8, but positions 3, 4, 5 share rank 3 -> U3, U4, U5 all in:
    # bottom (worst first) = U8, U7, U6, then U3, U4, U5 (six units)
    scores = {"U1": 90, "U2": 85, "U3": 70, "U4": 70, "U5": 70, "U6": 65, "U7": 60, "U8": 50}
    ranking = run_round({c: [s] * 3 for c, s in scores.items()}, rules=SMALL)
    assert ranking["bottom"][:3] == ["U8", "U7", "U6"]
    assert sorted(ranking["bottom"][3:]) == ["U3", "U4", "U5"]
    assert len(ranking["bottom"]) == 6
    assert {by_code(ranking)[c]["rank_overall"] for c in ("U3", "U4", "U5")} == {3}


def test_vetoed_best_unit_is_last_keeps_score_in_bottom_never_top() -> None:
    # A 100 (vetoed), B 90, C 80, D 70; top = 2, bottom = 2
    # order: B 1, C 2, D 3, then the vetoed A 4 (also last in its system)
    # top = B, C; bottom (worst first) = A, D; vetoed = A; A keeps its score 100
    ranking = run_round(
        {"A": [100] * 3, "B": [90] * 3, "C": [80] * 3, "D": [70] * 3},
        rules={**SMALL, "top": 2, "bottom": 2},
        vetoes=["A"],
    )
    a = by_code(ranking)["A"]
    assert (a["status"], a["score"], a["votes"]) == ("vetoed", 100.0, 3)
    assert (a["rank_overall"], a["rank_in_system"]) == (4, 4)
    assert [u["code"] for u in ranking["units"]] == ["B", "C", "D", "A"]
    assert ranking["top"] == ["B", "C"]
    assert ranking["bottom"] == ["A", "D"]
    assert ranking["vetoed"] == ["A"]


def test_vetoed_unit_never_in_top_even_when_top_covers_everyone() -> None:
    # Defaults for the lists (top 10, bottom 5): A 100 vetoed, B 90, C 80
    # top = every non-vetoed unit: B, C; bottom = all three ranked, worst first: A, C, B
    ranking = run_round({"A": [100] * 3, "B": [90] * 3, "C": [80] * 3}, rules=SMALL, vetoes=["A"])
    assert ranking["top"] == ["B", "C"]
    assert ranking["bottom"] == ["A", "C", "B"]
    assert by_code(ranking)["A"]["rank_overall"] == 3


def test_vetoed_units_are_ordered_among_themselves_by_the_same_rules() -> None:
    # A 100 and C 80 vetoed, B 90, D 70 -> B 1, D 2, A 3, C 4
    # vetoed list in that order (A, C); bottom = 2 worst first -> C, A
    ranking = run_round(
        {"A": [100] * 3, "B": [90] * 3, "C": [80] * 3, "D": [70] * 3},
        rules={**SMALL, "bottom": 2},
        vetoes=["C", "A"],
    )
    units = by_code(ranking)
    assert [units[c]["rank_overall"] for c in "BDAC"] == [1, 2, 3, 4]
    assert ranking["vetoed"] == ["A", "C"]
    assert ranking["bottom"] == ["C", "A"]
    assert ranking["top"] == ["B", "D"]
