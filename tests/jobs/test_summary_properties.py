"""Summary rounds against an independent oracle, on random quarters (hypothesis): every Q is
0.7·M + 0.3·L of the published numbers rounded half up once (M alone without leaders), vetoes
from any constituent or the summary itself are carried up and placed last, and the order is score,
then exact M, then a shared rank."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.scoring import Answer, BallotInput, SeatInfo, UnitInfo
from jobs.summary import PartScore, compute_summary
from service.rules import Rules

CODES = [f"U{i}" for i in range(8)]
UNITS = [UnitInfo(c, c, "甲" if i % 2 else "乙") for i, c in enumerate(CODES)]
MONTHS = ("m1", "m2", "m3")
AT = datetime(2026, 10, 10, tzinfo=UTC)
# Published scores have two decimals; a narrow range makes equal Q at the cent common.
score = st.one_of(st.none(), st.integers(8000, 8100).map(lambda c: Decimal(c) / 100))


@st.composite
def quarters(draw):
    parts = {
        m: {c: PartScore(draw(score), draw(st.booleans()) and draw(st.booleans())) for c in CODES}
        for m in MONTHS
    }
    leaders = [
        {c: draw(st.one_of(st.none(), st.integers(60, 100))) for c in CODES} for _ in range(2)
    ]
    own_vetoes = draw(st.lists(st.sampled_from(CODES), max_size=2, unique=True))
    return parts, leaders, own_vetoes


def _half_up(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@settings(max_examples=150, deadline=None, database=None)
@given(case=quarters())
def test_a_quarter_follows_the_oracle(case) -> None:
    parts, leaders, own_vetoes = case
    seats = [SeatInfo(f"L{i}", "县领导") for i in range(len(leaders))]
    ballots = [
        BallotInput(f"k{i}", f"L{i}", AT, {c: {"总体": Answer(None, Fraction(p))}
                                           for c, p in points.items() if p is not None})
        for i, points in enumerate(leaders)
    ]  # fmt: skip
    summary = compute_summary(UNITS, parts, seats, ballots, own_vetoes, Rules(), ["乙", "甲"])
    results = {u.code: u for u in summary.units}
    # The leaders' ballots follow the monthly acceptance rules: one answering fewer than half
    # the units (min_coverage 0.5) is invalid and none of its votes count.
    valid = [points for points in leaders if 2 * sum(p is not None for p in points.values()) >= 8]
    for c in CODES:
        published = [p[c].score for p in parts.values() if p[c].score is not None]
        votes = [p[c] for p in valid if p[c] is not None]
        vetoed = c in own_vetoes or any(p[c].vetoed for p in parts.values())
        u = results[c]
        if not published:
            assert u.score is None and u.status == "insufficient"
            continue
        mean = sum(map(Fraction, published), Fraction(0)) / len(published)
        # Two leaders: no trimming (fewer than 7 votes), the plain mean, published rounded.
        lead = _half_up(Fraction(sum(votes), len(votes))) if votes else None
        exact = mean if lead is None else Fraction(7, 10) * mean + Fraction(3, 10) * Fraction(lead)
        assert u.score == _half_up(exact), c
        assert u.status == ("vetoed" if vetoed else "ranked")
        assert (c in summary.vetoed) is vetoed
    ordered = [u for u in summary.units if u.status != "insufficient"]
    for a, b in itertools.pairwise(ordered):
        a_vetoed, b_vetoed = a.status == "vetoed", b.status == "vetoed"
        assert a_vetoed <= b_vetoed  # vetoed units come after every ranked one
        if a_vetoed == b_vetoed:
            assert (a.score, a.mean) >= (b.score, b.mean)
            tied = (a.score, a.mean) == (b.score, b.mean)
            assert (a.rank_overall == b.rank_overall) is tied
    assert not set(summary.top) & set(summary.vetoed)
