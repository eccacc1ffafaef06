"""docs/rules.md, ballots: coverage, recusal, re-submission (the latest ``submitted_at`` wins,
whatever the arrival order), rejected ballots that supersede nothing, and the quorum, on
``tests/jobs/paper_round.py``.
"""

from __future__ import annotations

import pytest

from tests.jobs.paper_round import AT, GROUP, ROUND, SMALL, PaperRound, by_code


def test_ballot_covering_40_percent_is_invalid_and_50_percent_is_valid() -> None:
    # Ten units U01…U10; P1–P3 answer 满意 on all ten.
    # P4: 不满意 on U01–U04 and 不了解 on the other six -> votes on 4/10 = 40% < 50% -> invalid,
    #     none of its votes count (不了解 answers are not votes and do not help coverage)
    # P5: 不满意 on U05–U09, 不了解 on U10 -> 5/10 = 50% exactly -> valid
    # U01–U04: 3 votes, 100; U05–U09: 4 votes, (300 + 30) / 4 = 82.5; U10: 3 votes, 100
    codes = [f"U{i:02d}" for i in range(1, 11)]
    ev = PaperRound(
        dict.fromkeys(codes, "法院"),
        dict.fromkeys(["P1", "P2", "P3", "P4", "P5"], GROUP),
        rules=SMALL,
    )
    ballots = [ev.ballot(p, dict.fromkeys(codes, "满意")) for p in ("P1", "P2", "P3")]
    ballots.append(ev.ballot("P4", {c: "不满意" if c <= "U04" else "不了解" for c in codes}))
    ballots.append(
        ev.ballot("P5", {c: "不满意" if "U05" <= c <= "U09" else "不了解" for c in codes[4:]})
    )
    counts = ev.ingest(ballots)
    assert (counts["accepted"], counts["invalid"], counts["rejected"]) == (4, 1, 0)
    ranking = ev.rank()
    units = by_code(ranking)
    for c in codes[:4]:
        assert (units[c]["votes"], units[c]["score"]) == (3, 100.0)
    for c in codes[4:9]:
        assert (units[c]["votes"], units[c]["score"]) == (4, 82.5)
    assert (units["U10"]["votes"], units["U10"]["score"]) == (3, 100.0)
    assert ranking["participation"] == {"seats": 5, "ballots": 5, "valid_ballots": 4}


def test_recused_votes_are_dropped_and_recused_units_leave_the_coverage_denominator() -> None:
    # Units U1–U4. P1–P3 answer 满意 on all four.
    # P4 (conflicts U1;U2): 不满意 on U1, U2 (dropped), 不满意 on U3 (counts), 不了解 on U4
    #    asked = 4 − 2 = 2 units, votes 1 (U3) -> 1/2 = 50% -> valid
    #    (with the recused units left in the denominator it would be 1/4 = invalid)
    # P5 (conflict U1): 满意 on U1 (dropped), 满意 on U2, 不了解 on U3, U4
    #    asked = 3 units, votes 1 (U2) -> 1/3 < 50% -> invalid: its U2 vote does not count
    #    (counting the recused vote would make it 2/4 = valid)
    # U1: 3 votes 100; U2: 3 votes 100; U3: (300 + 30) / 4 = 82.5, 4 votes; U4: 3 votes 100
    members = {"P1": GROUP, "P2": GROUP, "P3": GROUP, "P4": (GROUP, "U1;U2"), "P5": (GROUP, "U1")}
    units4 = ["U1", "U2", "U3", "U4"]
    ev = PaperRound(dict.fromkeys(units4, "法院"), members, rules=SMALL)
    ballots = [ev.ballot(p, dict.fromkeys(units4, "满意")) for p in ("P1", "P2", "P3")]
    ballots.append(
        ev.ballot("P4", {"U1": "不满意", "U2": "不满意", "U3": "不满意", "U4": "不了解"})
    )
    ballots.append(ev.ballot("P5", {"U1": "满意", "U2": "满意", "U3": "不了解", "U4": "不了解"}))
    counts = ev.ingest(ballots)
    assert (counts["accepted"], counts["invalid"]) == (4, 1)
    ranking = ev.rank()
    units = by_code(ranking)
    assert (units["U1"]["votes"], units["U1"]["score"]) == (3, 100.0)
    assert (units["U2"]["votes"], units["U2"]["score"]) == (3, 100.0)
    assert (units["U3"]["votes"], units["U3"]["score"]) == (4, 82.5)
    assert (units["U4"]["votes"], units["U4"]["score"]) == (3, 100.0)
    assert ranking["participation"] == {"seats": 5, "ballots": 5, "valid_ballots": 4}


@pytest.mark.parametrize("late_first", [True, False], ids=["late-ingested-first", "early-first"])
def test_resubmission_latest_submitted_at_wins_whatever_the_ingest_order(late_first: bool) -> None:
    # P1–P3: 满意 on A and B. P4 submits twice:
    #   r-early 2026-10-05: 不满意 on both; r-late 2026-10-20: 基本满意 on both -> r-late wins
    # A = B = (300 + 70) / 4 = 92.5; r-early is superseded; 4 seats, 4 ballots, 4 valid
    ev = PaperRound(
        {"A": "法院", "B": "法院"}, dict.fromkeys(["P1", "P2", "P3", "P4"], GROUP), rules=SMALL
    )
    ev.ingest(ev.ballot(p, {"A": "满意", "B": "满意"}) for p in ("P1", "P2", "P3"))
    early = ev.ballot(
        "P4", {"A": "不满意", "B": "不满意"}, at="2026-10-05T10:00:00+08:00", rid="r-early"
    )
    late = ev.ballot(
        "P4", {"A": "基本满意", "B": "基本满意"}, at="2026-10-20T10:00:00+08:00", rid="r-late"
    )
    first, second = (late, early) if late_first else (early, late)
    ev.ingest([first])
    counts = ev.ingest([second])
    assert (counts["accepted"], counts["superseded"]) == ((0, 1) if late_first else (1, 0))
    ranking = ev.rank()
    units = by_code(ranking)
    assert (units["A"]["score"], units["A"]["votes"]) == (92.5, 4)
    assert (units["B"]["score"], units["B"]["votes"]) == (92.5, 4)
    assert ranking["participation"] == {"seats": 4, "ballots": 4, "valid_ballots": 4}


def test_resubmission_in_one_file_is_settled_by_time_not_file_order() -> None:
    # Same data as above in a single file, later ballot written first (also at a later
    # local clock reading in another zone: 2026-10-20T03:00Z = 11:00 +08:00 > 10:00 +08:00).
    ev = PaperRound(
        {"A": "法院", "B": "法院"}, dict.fromkeys(["P1", "P2", "P3", "P4"], GROUP), rules=SMALL
    )
    counts = ev.ingest(
        [
            ev.ballot(
                "P4",
                {"A": "基本满意", "B": "基本满意"},
                at="2026-10-20T03:00:00+00:00",
                rid="r-late",
            ),
            ev.ballot(
                "P4", {"A": "不满意", "B": "不满意"}, at="2026-10-20T10:00:00+08:00", rid="r-early"
            ),
            *(ev.ballot(p, {"A": "满意", "B": "满意"}) for p in ("P1", "P2", "P3")),
        ]
    )
    assert (counts["accepted"], counts["superseded"]) == (4, 1)
    assert by_code(ev.rank())["A"]["score"] == 92.5  # (300 + 70) / 4


def test_equal_submitted_at_resubmission_does_not_depend_on_delivery_order() -> None:
    # P4 sends two ballots with the SAME submitted_at: r-a (不满意) and r-b (满意).
    # docs/rules.md picks the latest by submitted_at, equal times by ballot key: the outcome
    # must not depend on the order the platform delivered them (docs/service.md, "Reliability"; and
    # jobs.scoring.settle_ballots promises "never depends on the order ballots arrived in").
    # Round 2026-10 receives r-a then r-b, round 2026-11 receives r-b then r-a (same data).
    # Either A = (300 + 30) / 4 = 82.5 in both rounds, or A = 400 / 4 = 100 in both.
    members = ["P1", "P2", "P3", "P4"]
    ev = PaperRound({"A": "法院"}, dict.fromkeys(members, GROUP), rules=SMALL)
    scores = []
    for round_id, at, order in (
        (ROUND, AT, "ab"),
        ("2026-11", "2026-11-15T09:00:00+08:00", "ba"),
    ):
        if round_id != ROUND:
            ev.new_round(round_id, "2026-11-01", "2026-11-30", members)
        sent = {
            "a": ev.ballot("P4", {"A": "不满意"}, at=at, rid=f"{round_id}-a"),
            "b": ev.ballot("P4", {"A": "满意"}, at=at, rid=f"{round_id}-b"),
        }
        for key in order:
            ev.ingest([sent[key]])
        ev.ingest(ev.ballot(p, {"A": "满意"}, at=at) for p in ("P1", "P2", "P3"))
        scores.append(by_code(ev.rank())["A"]["score"])
    assert scores[0] == scores[1]


def test_later_rejected_ballot_does_not_supersede_accepted_one() -> None:
    # P4's accepted ballot (2026-10-05): 不满意 on A and B.
    # Three later ballots from P4, each rejected: an unknown unit, an off-scale number (120),
    # an off-scale label (很好). None may replace the accepted one:
    # A = B = (300 + 30) / 4 = 82.5
    ev = PaperRound(
        {"A": "法院", "B": "法院"}, dict.fromkeys(["P1", "P2", "P3", "P4"], GROUP), rules=SMALL
    )
    ev.ingest(ev.ballot(p, {"A": "满意", "B": "满意"}) for p in ("P1", "P2", "P3"))
    ev.ingest([ev.ballot("P4", {"A": "不满意", "B": "不满意"}, at="2026-10-05T10:00:00+08:00")])
    later = [
        ev.ballot(
            "P4",
            {"A": "满意", "B": "满意", "NOPE": "满意"},
            at="2026-10-20T10:00:00+08:00",
            rid="r-x1",
        ),
        ev.ballot("P4", {"A": 120, "B": "满意"}, at="2026-10-21T10:00:00+08:00", rid="r-x2"),
        ev.ballot("P4", {"A": "很好", "B": "满意"}, at="2026-10-22T10:00:00+08:00", rid="r-x3"),
    ]
    counts = ev.ingest(later)
    assert (counts["rejected"], counts["accepted"], counts["superseded"]) == (3, 0, 0)
    ranking = ev.rank()
    assert by_code(ranking)["A"]["score"] == 82.5
    assert by_code(ranking)["B"]["score"] == 82.5
    assert ranking["participation"] == {"seats": 4, "ballots": 4, "valid_ballots": 4}


@pytest.mark.parametrize(
    ("seats", "valid", "invalid", "expected"),
    [
        (3, 2, 1, True),  # 3·2 = 6 ≥ 2·3 = 6 -> valid (exactly 2/3)
        (2, 1, 0, False),  # 3·1 = 3 < 2·2 = 4 -> not valid
        (6, 4, 1, True),  # 12 ≥ 12
        (6, 3, 2, False),  # 9 < 12, although 5 of 6 seats returned a ballot
    ],
)
def test_quorum_is_three_valid_at_least_two_seats(
    seats: int, valid: int, invalid: int, expected: bool
) -> None:
    # Units A, B (default rules). "valid" seats answer 满意 on both; "invalid" seats answer
    # 不了解 on both (0/2 < 50% coverage); the remaining seats submit nothing.
    members = [f"P{i}" for i in range(1, seats + 1)]
    ev = PaperRound({"A": "法院", "B": "法院"}, dict.fromkeys(members, GROUP))
    ballots = [ev.ballot(p, {"A": "满意", "B": "满意"}) for p in members[:valid]]
    ballots += [
        ev.ballot(p, {"A": "不了解", "B": "不了解"}) for p in members[valid : valid + invalid]
    ]
    ev.ingest(ballots)
    ranking = ev.rank()
    assert ranking["valid"] is expected
    assert ranking["participation"] == {
        "seats": seats,
        "ballots": valid + invalid,
        "valid_ballots": valid,
    }
