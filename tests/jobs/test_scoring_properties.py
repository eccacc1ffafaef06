"""Properties of the pure scoring function (docs/rules.md) over generated rounds.

The oracle here is written from docs/rules.md, not from ``jobs.scoring``: it settles ballots (latest
``submitted_at`` wins, coverage over the units asked), collects votes, trims, averages exactly
with ``Fraction`` and rounds half up through ``Decimal.quantize``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.scoring import Answer, BallotInput, SeatInfo, UnitInfo, compute_ranking
from service.rules import Rules

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
SYSTEMS = ("法院", "检察院", "公安局")
GROUPS = ("人大代表", "政协委员")
CRITERION = "总体"
LABELS = {"满意": Fraction(100), "基本满意": Fraction(70), "不满意": Fraction(30)}


@dataclass(frozen=True)
class Case:
    units: list[UnitInfo]
    seats: list[SeatInfo]
    ballots: list[BallotInput]
    vetoes: list[str]
    rules: Rules


LABEL_ANSWERS = st.sampled_from([*LABELS, "不了解"]).map(lambda lab: Answer(lab, LABELS.get(lab)))
# coarse answers (labels and a few round numbers) make exact ties common
COARSE = st.one_of(
    LABEL_ANSWERS,
    st.sampled_from([0, 70, Fraction(175, 2), 100]).map(lambda n: Answer(None, Fraction(n))),
)
# fine answers: any number with two decimals in [0, 100]
FINE = st.one_of(
    LABEL_ANSWERS, st.integers(0, 10_000).map(lambda n: Answer(None, Fraction(n, 100)))
)


@st.composite
def cases(draw: st.DrawFn, distinct_times: bool = False) -> Case:
    n_units = draw(st.integers(1, 7))
    units = [UnitInfo(f"U{i}", f"单位{i}", draw(st.sampled_from(SYSTEMS))) for i in range(n_units)]
    codes = [u.code for u in units]
    n_seats = draw(st.integers(1, 14))
    seats = [
        SeatInfo(
            f"tok{i}",
            draw(st.sampled_from(GROUPS)),
            frozenset(draw(st.lists(st.sampled_from(codes), max_size=2))),
        )
        for i in range(n_seats)
    ]
    n_ballots = draw(st.integers(0, 24))
    if distinct_times:
        minutes = draw(
            st.lists(st.integers(0, 10_000), min_size=n_ballots, max_size=n_ballots, unique=True)
        )
    else:
        minutes = draw(st.lists(st.integers(0, 5), min_size=n_ballots, max_size=n_ballots))
    answers_st = draw(st.sampled_from([COARSE, FINE]))
    # twins: some units get exactly the answers of an earlier unit on every ballot, so that
    # units equal on every ranking key (shared ranks, ties at the cut-offs) are common
    twin_of = {
        c: codes[draw(st.integers(0, i - 1))]
        for i, c in enumerate(codes)
        if i and draw(st.integers(0, 2)) == 0
    }
    ballots = []
    for i, minute in enumerate(minutes):
        answers = {
            c: {CRITERION: draw(answers_st)}
            for c in codes
            if c not in twin_of and draw(st.integers(0, 4))  # each unit named 4 times in 5
        }
        for twin, source in twin_of.items():
            while source in twin_of:
                source = twin_of[source]
            if source in answers:
                answers[twin] = answers[source]
        ballots.append(
            BallotInput(
                key=f"b{i:03d}",
                token=draw(st.sampled_from(seats)).token,
                submitted_at=T0 + timedelta(minutes=minute),
                answers=answers,
            )
        )
    trim_min_n = draw(st.integers(3, 8))
    rules = Rules(
        min_votes=draw(st.integers(1, 4)),
        trim_min_n=trim_min_n,
        trim=draw(st.integers(0, (trim_min_n - 1) // 2)),
        min_coverage=draw(
            st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(2, 3), Fraction(1)])
        ),
        top=draw(st.integers(0, 6)),
        bottom=draw(st.integers(0, 6)),
        criteria=Rules().criteria,
    )
    vetoes = draw(st.lists(st.sampled_from(codes), unique=True, max_size=2))
    return Case(units, seats, ballots, vetoes, rules)


def rank(case: Case, ballots: Sequence[BallotInput] | None = None, seats=None):
    return compute_ranking(
        case.units,
        case.seats if seats is None else seats,
        case.ballots if ballots is None else ballots,
        case.vetoes,
        case.rules,
        SYSTEMS,
    )


# --- the oracle ----------------------------------------------------------------------------


@dataclass
class Expected:
    votes: list[Fraction]
    answers: int
    satisfied: int
    dissatisfied: int


def oracle(case: Case) -> tuple[dict[str, Expected], int, int]:
    """Votes per unit from the rules of docs/rules.md; also (ballots, valid_ballots)."""
    seats = {s.token: s for s in case.seats}
    winner: dict[str, BallotInput] = {}
    for b in case.ballots:  # distinct submitted_at: the latest wins
        if b.token not in winner or b.submitted_at > winner[b.token].submitted_at:
            winner[b.token] = b
    all_units = {u.code for u in case.units}
    out = {u.code: Expected([], 0, 0, 0) for u in case.units}
    valid = 0
    for token, b in winner.items():
        asked = all_units - seats[token].recusals
        voted = [
            u
            for u, crits in b.answers.items()
            if u in asked and crits[CRITERION].points is not None
        ]
        if Fraction(len(voted)) < case.rules.min_coverage * len(asked):
            continue  # invalid: none of its votes count
        valid += 1
        for u in voted:
            a = b.answers[u][CRITERION]
            e = out[u]
            e.votes.append(a.points)
            e.answers += 1
            e.satisfied += a.label == "满意"
            e.dissatisfied += a.label == "不满意"
    return out, len(winner), valid


def half_up(value: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 80
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected_score(votes: list[Fraction], rules: Rules) -> Fraction | None:
    if not votes:
        return None
    ordered = sorted(votes)
    if len(ordered) >= rules.trim_min_n and rules.trim:
        ordered = ordered[rules.trim : len(ordered) - rules.trim]
    return sum(ordered, Fraction(0)) / len(ordered)


def sort_key(u, exp: Expected, vetoed: bool) -> tuple:
    """docs/rules.md: vetoed last; score desc, 满意 share desc, 不满意 share asc, mean desc, votes desc."""
    return (
        vetoed,
        -u.score,
        -Fraction(exp.satisfied, exp.answers),
        Fraction(exp.dissatisfied, exp.answers),
        -sum(exp.votes, Fraction(0)) / len(exp.votes),
        -len(exp.votes),
    )


# --- invariances ----------------------------------------------------------------------------


@SETTINGS
@given(case=cases(), seed=st.integers(0, 2**32 - 1))
def test_shuffling_ballots_and_seats_changes_nothing(case: Case, seed: int) -> None:
    rng = random.Random(seed)
    ballots, seats = list(case.ballots), list(case.seats)
    rng.shuffle(ballots)
    rng.shuffle(seats)
    before, after = rank(case), rank(case, ballots, seats)
    assert after.to_json("r", "monthly") == before.to_json("r", "monthly")
    assert after.ballot_status == before.ballot_status


@SETTINGS
@given(case=cases(), seed=st.integers(0, 2**32 - 1))
def test_renaming_tokens_consistently_changes_nothing(case: Case, seed: int) -> None:
    rng = random.Random(seed)
    new_names = [f"x-{rng.getrandbits(64):016x}-{i}" for i in range(len(case.seats))]
    rng.shuffle(new_names)
    rename = {s.token: new_names[i] for i, s in enumerate(case.seats)}
    seats = [replace(s, token=rename[s.token]) for s in case.seats]
    ballots = [replace(b, token=rename[b.token]) for b in case.ballots]
    before, after = rank(case), rank(case, ballots, seats)
    assert after.to_json("r", "monthly") == before.to_json("r", "monthly")
    assert after.ballot_status == before.ballot_status


@SETTINGS
@given(case=cases(distinct_times=True), seed=st.integers(0, 2**32 - 1))
def test_renaming_ballot_keys_changes_nothing_when_times_are_distinct(
    case: Case, seed: int
) -> None:
    rng = random.Random(seed)
    new_keys = [f"k{i}" for i in range(len(case.ballots))]
    rng.shuffle(new_keys)  # a different order of keys than of ballots
    rename = {b.key: new_keys[i] for i, b in enumerate(case.ballots)}
    ballots = [replace(b, key=rename[b.key]) for b in case.ballots]
    before, after = rank(case), rank(case, ballots)
    assert after.to_json("r", "monthly") == before.to_json("r", "monthly")
    assert after.ballot_status == {rename[k]: s for k, s in before.ballot_status.items()}


# --- the numbers against the oracle ----------------------------------------------------------


@SETTINGS
@given(case=cases(distinct_times=True))
def test_scores_votes_and_status_match_the_spec_oracle(case: Case) -> None:
    expected, n_ballots, n_valid = oracle(case)
    ranking = rank(case)
    assert (ranking.seats, ranking.ballots, ranking.valid_ballots) == (
        len(case.seats),
        n_ballots,
        n_valid,
    )
    assert ranking.valid is (3 * n_valid >= 2 * len(case.seats))
    for u in ranking.units:
        exp = expected[u.code]
        assert u.votes == len(exp.votes)
        exact = expected_score(exp.votes, case.rules)
        if exact is None:
            assert u.score is None
        else:
            assert u.score == half_up(exact)
            assert u.score.as_tuple().exponent == -2  # published with two decimals
        if u.code in case.vetoes:
            assert u.status == "vetoed"
        elif len(exp.votes) >= case.rules.min_votes and exp.votes:
            assert u.status == "ranked"
        else:
            assert u.status == "insufficient"
            assert (u.rank_overall, u.rank_in_system) == (None, None)


@SETTINGS
@given(case=cases(distinct_times=True))
def test_ranks_are_competition_ranks_of_the_spec_sort_key(case: Case) -> None:
    expected, _, _ = oracle(case)
    ranking = rank(case)
    placed = [
        u for u in ranking.units if u.status == "ranked" or (u.status == "vetoed" and u.votes)
    ]
    keys = {u.code: sort_key(u, expected[u.code], u.status == "vetoed") for u in placed}
    for u in placed:
        # competition rank = 1 + number of units strictly ahead
        assert u.rank_overall == 1 + sum(keys[v.code] < keys[u.code] for v in placed)
        same = [v for v in placed if v.system == u.system]
        assert u.rank_in_system == 1 + sum(keys[v.code] < keys[u.code] for v in same)
    # the units list is in overall order
    ranks = [u.rank_overall for u in ranking.units if u.rank_overall is not None]
    assert ranks == sorted(ranks)


@SETTINGS
@given(case=cases())
def test_top_and_bottom_lists_follow_the_cutoff_rules(case: Case) -> None:
    ranking = rank(case)
    units = {u.code: u for u in ranking.units}
    ranked = [u for u in ranking.units if u.rank_overall is not None]
    eligible = [u for u in ranked if u.status == "ranked"]

    # top: never vetoed, at least min(top, eligible), in rank order, ties at the cut taken in
    assert not set(ranking.top) & set(case.vetoes)
    assert all(units[c].status == "ranked" for c in ranking.top)
    assert len(ranking.top) >= min(case.rules.top, len(eligible))
    top_ranks = [units[c].rank_overall for c in ranking.top]
    assert top_ranks == sorted(top_ranks)
    for u in eligible:
        if u.code not in ranking.top:
            assert all(u.rank_overall > r for r in top_ranks)
    if len(ranking.top) > case.rules.top:  # only a tie at the cut can overflow
        assert top_ranks.count(top_ranks[-1]) > 1

    # bottom: ranked units only, ≥ min(bottom, ranked), worst first, ties at the cut taken in
    assert all(units[c].rank_overall is not None for c in ranking.bottom)
    assert len(ranking.bottom) >= min(case.rules.bottom, len(ranked))
    bottom_ranks = [units[c].rank_overall for c in ranking.bottom]
    assert bottom_ranks == sorted(bottom_ranks, reverse=True)
    for u in ranked:
        if u.code not in ranking.bottom:
            assert all(u.rank_overall < r for r in bottom_ranks)
    if len(ranking.bottom) > case.rules.bottom:
        assert bottom_ranks.count(bottom_ranks[-1]) > 1

    # vetoed units come after every non-vetoed ranked unit and open the bottom list
    vetoed_ranks = [u.rank_overall for u in ranked if u.status == "vetoed"]
    others = [u.rank_overall for u in eligible]
    if vetoed_ranks and others:
        assert min(vetoed_ranks) > max(others)
    n_vetoed = len(vetoed_ranks)
    if case.rules.bottom >= n_vetoed:
        assert {units[c].status for c in ranking.bottom[:n_vetoed]} <= {"vetoed"}
    assert set(ranking.vetoed) == set(case.vetoes)
    listed = [units[c].rank_overall for c in ranking.vetoed]
    assert listed == sorted(listed)


@SETTINGS
@given(case=cases())
def test_zscore_mode_keeps_scores_and_ranks_within_systems(case: Case) -> None:
    # cross_system only changes the overall comparison (docs/rules.md); published scores, statuses and
    # ranks within each system are the raw ones, and vetoed units still come last overall.
    raw = rank(case)
    z = compute_ranking(
        case.units,
        case.seats,
        case.ballots,
        case.vetoes,
        replace(case.rules, cross_system="zscore"),
        SYSTEMS,
    )
    raw_units = {u.code: u for u in raw.units}
    for u in z.units:
        r = raw_units[u.code]
        assert (u.score, u.votes, u.status, u.rank_in_system) == (
            r.score,
            r.votes,
            r.status,
            r.rank_in_system,
        )
        assert (u.rank_overall is None) == (r.rank_overall is None)
    vetoed = [u.rank_overall for u in z.units if u.status == "vetoed" and u.rank_overall]
    others = [u.rank_overall for u in z.units if u.status == "ranked"]
    if vetoed and others:
        assert min(vetoed) > max(others)
    assert not set(z.top) & set(case.vetoes)
