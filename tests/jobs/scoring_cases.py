"""Generated rounds for the scoring properties (``test_scoring_properties.py``) and an oracle
written from docs/rules.md, not from ``jobs.scoring``: it settles ballots (latest
``submitted_at`` wins, coverage over the units asked), collects votes, trims, averages exactly
with ``Fraction`` and rounds half up through ``Decimal.quantize``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from hypothesis import HealthCheck, settings
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


# 满意 and 不满意 turned into numbers a thousandth away: see the near twins in ``cases``
NUDGED = {
    "满意": Answer(None, Fraction(100_001, 1000)),
    "不满意": Answer(None, Fraction(29_999, 1000)),
}


@st.composite
def cases(draw: st.DrawFn, distinct_times: bool = False) -> Case:
    n_units = draw(st.integers(1, 7))
    units = [UnitInfo(f"U{i}", f"单位{i}", draw(st.sampled_from(SYSTEMS))) for i in range(n_units)]
    codes = [u.code for u in units]
    # Half the rounds are full ones (many seats, most of them voting), where most units are
    # ranked, so ties between ranked units can happen at all; the rest are anything.
    full = draw(st.booleans())
    n_seats = draw(st.integers(6, 14) if full else st.integers(1, 14))
    seats = [
        SeatInfo(
            f"tok{i}",
            draw(st.sampled_from(GROUPS)),
            frozenset(draw(st.lists(st.sampled_from(codes), max_size=2))),
        )
        for i in range(n_seats)
    ]
    n_ballots = draw(st.integers(n_seats, 24) if full else st.integers(0, 24))
    if distinct_times:
        minutes = draw(
            st.lists(st.integers(0, 10_000), min_size=n_ballots, max_size=n_ballots, unique=True)
        )
    else:
        minutes = draw(st.lists(st.integers(0, 5), min_size=n_ballots, max_size=n_ballots))
    answers_st = draw(st.sampled_from([COARSE, FINE]))
    # Ties are what the ranking rules are about, and random answers hardly ever make them, so
    # the generator makes them on purpose (test_the_generator_makes_the_ties_it_probes counts):
    # - twins: a unit gets exactly the answers of an earlier unit on every ballot, so units
    #   equal on every ranking key (shared ranks, ties at the cut-offs) are common;
    # - near twins: the same, but each 满意 becomes the number 100.001 and each 不满意 the
    #   number 29.999. The exact score moves by at most 0.001, so the published score almost
    #   always stays equal, while the shares change against it (fewer 满意 with a higher exact
    #   score, fewer 不满意 with a lower one): ranking by the exact score instead of the
    #   published one then gives another order. (Points beyond 100 never pass judging; the
    #   scoring function takes points as judged.)
    twin_of: dict[str, str] = {}
    near = set()
    for i, c in enumerate(codes):
        kind = draw(st.integers(0, 4)) if i else 4  # 0: twin; 1, 2: near twin; else neither
        if kind <= 2:
            twin_of[c] = codes[draw(st.integers(0, i - 1))]
        if kind in (1, 2):
            near.add(c)
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
                label = answers[source][CRITERION].label
                if twin in near and label in NUDGED:
                    answers[twin] = {CRITERION: NUDGED[label]}
        ballots.append(
            BallotInput(
                key=f"b{i:03d}",
                # in a full round every seat has a ballot; the rest re-submit
                token=seats[i].token
                if full and i < n_seats
                else draw(st.sampled_from(seats)).token,
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
    # Half the time, put a list's cut-off inside a group of units sharing a rank, if there is
    # one, so that ties straddling the cut-offs are common rather than rare. The ranks are
    # looked up with the function under test; that only chooses the data, and the properties
    # check the lists on their own terms.
    provisional = compute_ranking(units, seats, ballots, vetoes, rules, SYSTEMS)
    ranks = sorted(u.rank_overall for u in provisional.units if u.rank_overall is not None)
    eligible = sorted(u.rank_overall for u in provisional.units if u.status == "ranked")
    top_cuts = [i for i in range(1, len(eligible)) if eligible[i - 1] == eligible[i]]
    bottom_cuts = [len(ranks) - i for i in range(1, len(ranks)) if ranks[i - 1] == ranks[i]]
    if top_cuts and draw(st.booleans()):
        rules = replace(rules, top=draw(st.sampled_from(top_cuts)))
    if bottom_cuts and draw(st.booleans()):
        rules = replace(rules, bottom=draw(st.sampled_from(bottom_cuts)))
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


def tie_kinds(case: Case, ranking) -> set[str]:
    """The ties this round holds among units with an overall rank (for ``event`` and the count
    below): equal published scores, equal published but different exact scores, an order the
    exact score would have reversed, shared ranks, and ties straddling the list cut-offs."""
    placed = [u for u in ranking.units if u.rank_overall is not None]
    kinds = set()
    for i, u in enumerate(placed):
        for v in placed[i + 1 :]:
            if (u.status == "vetoed") != (v.status == "vetoed"):
                continue
            if u.rank_overall == v.rank_overall:
                kinds.add("shared rank")
            if u.score != v.score:
                continue
            kinds.add("equal published scores")
            if u.exact_score != v.exact_score:
                kinds.add("equal published, different exact scores")
                if u.rank_overall != v.rank_overall and (u.exact_score < v.exact_score) == (
                    u.rank_overall < v.rank_overall
                ):
                    kinds.add("order against the exact scores")
    if len(ranking.top) > case.rules.top:
        kinds.add("tie at the top cut-off")
    if len(ranking.bottom) > case.rules.bottom:
        kinds.add("tie at the bottom cut-off")
    return kinds
