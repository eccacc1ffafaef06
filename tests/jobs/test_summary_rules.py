"""Summary rounds on paper (docs/rules.md, Summary rounds): every number below is worked by hand.

The quarter 2026-Q3 over 2026-07, -08, -09, with two leaders (weights 0.7 and 0.3):

| unit | months | M | L | Q exact | Q |
|---|---|---|---|---|---|
| A 法院 | 90, 80, 85 | 85 | 90 | 86.5 | 86.50 |
| B 法院 | 86, 86, 86 | 86 | 87.66 | 86.498 | 86.50 (equal to A at the cent; B's higher M ranks it first, although A's exact Q is higher) |
| C 法院 | 80, —, 90 | 85 | 70 | 80.5 | 80.50 (a month missing: the mean of two) |
| D 法院 | 70, 70, 70 | 70 | none | 70 | 70.00 (no leader scored it: Q = M) |
| E 公安局 | 95, 95 vetoed, 95 | 95 | 80 | 90.5 | 90.50, vetoed (a month's veto carries up) |
| F 公安局 | 60, 60, 60 | 60 | 80 | 66 | 66.00, vetoed in the quarter itself |
| G 公安局 | —, —, — | none | 80 | none | insufficient (no score in the whole quarter) |
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from jobs.scoring import Answer, BallotInput, SeatInfo, UnitInfo
from jobs.summary import PartScore, compute_summary
from service.rules import Rules

SYSTEMS = ["法院", "公安局"]
UNITS = [UnitInfo(c, f"{c}单位", "法院" if c in "ABCD" else "公安局") for c in "ABCDEFG"]
RULES = Rules(top=2, bottom=2)
MONTHS = ("2026-07", "2026-08", "2026-09")
AT = datetime(2026, 10, 10, tzinfo=UTC)


def part(scores: dict[str, str | None], vetoed: str = "") -> dict[str, PartScore]:
    return {
        code: PartScore(None if s is None else Decimal(s), code in vetoed)
        for code, s in scores.items()
    }


def leader(token: str, points: dict[str, str | None]) -> BallotInput:
    """A leader's ballot: numbers as points, None as 不了解."""
    answers = {
        code: {"总体": Answer("不了解", None) if p is None else Answer(None, Fraction(p))}
        for code, p in points.items()
    }
    return BallotInput(f"k-{token}", token, AT, answers)


QUARTER_PARTS = {
    "2026-07": part({"A": "90", "B": "86", "C": "80", "D": "70", "E": "95", "F": "60"}),
    "2026-08": part({"A": "80", "B": "86", "D": "70", "E": "95", "F": "60"}, vetoed="E"),
    "2026-09": part({"A": "85", "B": "86", "C": "90", "D": "70", "E": "95", "F": "60", "G": None}),
}
LEADER_POINTS = {"A": "90", "B": "87.66", "C": "70", "D": None, "E": "80", "F": "80", "G": "80"}
SEATS = [SeatInfo("L1", "县领导"), SeatInfo("L2", "县领导")]


def the_quarter():
    ballots = [leader("L1", LEADER_POINTS), leader("L2", LEADER_POINTS)]
    return compute_summary(UNITS, QUARTER_PARTS, SEATS, ballots, ["F"], RULES, SYSTEMS)


def test_the_quarter_matches_the_hand_computed_table() -> None:
    q = the_quarter()
    got = {u.code: (u.score, u.status, u.rank_overall, u.rank_in_system) for u in q.units}
    assert got == {
        "B": (Decimal("86.50"), "ranked", 1, 1),
        "A": (Decimal("86.50"), "ranked", 2, 2),
        "C": (Decimal("80.50"), "ranked", 3, 3),
        "D": (Decimal("70.00"), "ranked", 4, 4),
        "E": (Decimal("90.50"), "vetoed", 5, 1),
        "F": (Decimal("66.00"), "vetoed", 6, 2),
        "G": (None, "insufficient", None, None),
    }
    assert [u.code for u in q.units] == list("BACDEFG")
    exact = {u.code: u.exact_score for u in q.units}
    assert exact["A"] == Fraction("86.5") > exact["B"] == Fraction("86.498")  # M decides, not Q
    assert (q.top, q.bottom, q.vetoed) == (["B", "A"], ["F", "E"], ["E", "F"])
    assert q.leaders.valid and q.leaders.valid_ballots == 2


def test_the_quarter_json_has_the_parts_of_each_unit() -> None:
    doc = the_quarter().to_json("2026-Q3", "quarterly", MONTHS)
    units = {u["code"]: u for u in doc["units"]}
    assert doc["kind"] == "quarterly" and doc["constituents"] == list(MONTHS)
    assert units["C"]["parts"] == {
        "rounds": {"2026-07": 80.0, "2026-08": None, "2026-09": 90.0},
        "mean": 85.0,
        "leaders": 70.0,
    }
    assert units["D"]["parts"]["leaders"] is None and units["D"]["votes"] == 0
    assert units["B"]["parts"]["leaders"] == 87.66 and units["B"]["votes"] == 2
    assert units["G"]["score"] is None and units["G"]["parts"]["mean"] is None
    assert doc["vetoed"] == ["E", "F"] and doc["top"] == ["B", "A"]


def test_the_half_year_is_the_same_over_its_quarters_and_carries_vetoes_from_any_depth() -> None:
    """H over the quarters' published Q. A: Q3 86.50, Q4 88.00 → M 87.25; L 90 →
    0.7 × 87.25 + 0.3 × 90 = 88.075 → 88.08 (half up, once). E was vetoed in a month of Q3:
    vetoed in the half year too, although Q4 did not veto it."""
    q3 = the_quarter().to_json("2026-Q3", "quarterly", MONTHS)
    q3_part = {u["code"]: PartScore(
        None if u["score"] is None else Decimal(str(u["score"])), u["code"] in q3["vetoed"]
    ) for u in q3["units"]}  # fmt: skip
    q4_part = part({"A": "88", "B": "84", "C": "80", "D": "70", "E": "99", "F": "60", "G": "50"})
    ballots = [leader(t, {**LEADER_POINTS, "D": "75"}) for t in ("L1", "L2", "L3")]
    seats = [SeatInfo(t, "县领导") for t in ("L1", "L2", "L3")]
    h = compute_summary(UNITS, {"2026-Q3": q3_part, "2026-Q4": q4_part}, seats, ballots, [],
                        RULES, SYSTEMS)  # fmt: skip
    by = {u.code: u for u in h.units}
    assert by["A"].exact_score == Fraction("88.075") and by["A"].score == Decimal("88.08")
    # B: M = (86.50 + 84) / 2 = 85.25; 0.7 × 85.25 + 0.3 × 87.66 = 59.675 + 26.298 = 85.973
    assert by["B"].score == Decimal("85.97")
    # D: M = 70; L = 75 → 71.5
    assert by["D"].score == Decimal("71.50")
    # G had nothing in Q3 but 50 in Q4: M = 50, L = 80 → 59
    assert (by["G"].score, by["G"].status) == (Decimal("59.00"), "ranked")
    assert by["E"].status == "vetoed" and by["F"].status == "vetoed"
    assert h.vetoed == ["E", "F"]
    # C: M = (80.50 + 80) / 2 = 80.25; 0.7 × 80.25 + 0.3 × 70 = 56.175 + 21 = 77.175 → 77.18
    assert by["C"].score == Decimal("77.18")
    assert [u.code for u in h.units if u.status == "ranked"] == ["A", "B", "C", "D", "G"]


def test_without_leaders_q_is_the_mean_of_the_months() -> None:
    q = compute_summary(UNITS, QUARTER_PARTS, [], [], [], RULES, SYSTEMS)
    by = {u.code: u for u in q.units}
    assert by["A"].score == Decimal("85.00") and by["B"].score == Decimal("86.00")
    assert not q.leaders.valid  # no leaders' panel: not an official summary
