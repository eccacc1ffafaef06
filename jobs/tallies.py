"""A unit's votes as a histogram, and its exact score from it (docs/rules.md).

Everything the score and the tie-breaks need is in the histogram of vote values (per evaluator
group when group weights are set), the count of criterion answers and how many of them carry the
satisfied and dissatisfied labels. That is what makes a ranking a grouped aggregate: the
database counts (unit, value) pairs (``jobs.ranking``), or ``jobs.scoring`` counts them from
ballots in memory, and both hand the same ``Tally`` to :func:`unit_results`. Values are scaled to
integers over their common denominator, so trimmed sums and means stay exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from math import floor, lcm
from typing import Protocol

from jobs.ranks import INSUFFICIENT, RANKED, VETOED, UnitResult, assign_ranks
from service.rules import Rules


@dataclass
class Tally:
    """One unit's counted votes: ``votes[(group, value)]`` = how many; criterion answers with
    points, and how many of those are the satisfied / dissatisfied label."""

    votes: Counter = field(default_factory=Counter)
    answers: int = 0
    satisfied: int = 0
    dissatisfied: int = 0

    @property
    def n(self) -> int:
        return sum(self.votes.values())

    def by_group(self) -> dict[str, Counter]:
        groups: dict[str, Counter] = {}
        for (group, value), count in self.votes.items():
            groups.setdefault(group, Counter())[value] += count
        return groups

    def pooled(self) -> Counter:
        pooled: Counter = Counter()
        for (_, value), count in self.votes.items():
            pooled[value] += count
        return pooled


def histogram_mean(hist: Mapping[Fraction, int], trim: int = 0) -> Fraction:
    """Exact mean of the votes in ``hist`` after dropping ``trim`` at each end."""
    den = lcm(*(v.denominator for v in hist))
    scaled = sorted((v.numerator * (den // v.denominator), c) for v, c in hist.items() if c)
    total = sum(x * c for x, c in scaled)
    n = sum(c for _, c in scaled)
    for order in (scaled, scaled[::-1]):
        left = trim
        for x, c in order:
            if not left:
                break
            take = min(c, left)
            total -= x * take
            left -= take
    return Fraction(total, den * (n - 2 * trim))


def trimmed_mean(hist: Mapping[Fraction, int], rules: Rules) -> Fraction:
    """docs/rules.md: from ``trim_min_n`` votes on, drop ``trim`` highest and lowest, then the mean."""
    n = sum(hist.values())
    k = rules.trim
    trims = k and n >= rules.trim_min_n and n > 2 * k
    return histogram_mean(hist, k if trims else 0)


def unit_score(tally: Tally, rules: Rules) -> Fraction | None:
    """The exact score: trimmed mean, or the renormalised group-weighted mean when configured."""
    if not tally.n:
        return None
    if not rules.group_weights:
        return trimmed_mean(tally.pooled(), rules)
    # Every group with seats has a positive weight (checked before scoring), so the sum over
    # the groups that voted is never 0.
    weighted = [
        (rules.group_weights[g], trimmed_mean(h, rules)) for g, h in tally.by_group().items()
    ]
    return sum(w * m for w, m in weighted) / sum(w for w, _ in weighted)


class Unit(Protocol):
    code: str
    name: str
    system: str


def round_half_up(value: Fraction, places: int = 2) -> Decimal:
    """Round an exact value half up (away from zero at .5) to ``places`` decimals."""
    scaled = value * 10**places
    whole = floor(abs(scaled) + Fraction(1, 2))
    return Decimal(whole if scaled >= 0 else -whole).scaleb(-places)


@dataclass(frozen=True)
class UnitScore:
    """What a unit's tally reduces to: all that its result and the tie-breaks need. Small and
    fixed in size, so a ranking can drop each unit's histogram as soon as it has this."""

    votes: int
    exact: Fraction | None
    mean: Fraction | None
    satisfied_share: Fraction | None
    dissatisfied_share: Fraction | None


NO_VOTES = UnitScore(0, None, None, None, None)


def reduce_tally(tally: Tally, rules: Rules) -> UnitScore:
    """The unit's exact score, untrimmed mean and label shares from its histogram."""
    n = tally.n
    return UnitScore(
        votes=n,
        exact=unit_score(tally, rules),
        mean=histogram_mean(tally.pooled()) if n else None,
        satisfied_share=Fraction(tally.satisfied, tally.answers) if tally.answers else None,
        dissatisfied_share=Fraction(tally.dissatisfied, tally.answers) if tally.answers else None,
    )


def unit_results(
    units: Sequence[Unit], tallies: Mapping[str, Tally], vetoes: Iterable[str], rules: Rules
) -> list[UnitResult]:
    """Every unit's result with its ranks, from its tally (an empty tally: no votes)."""
    scores = {code: reduce_tally(t, rules) for code, t in tallies.items()}
    return scored_results(units, scores, vetoes, rules)


def scored_results(
    units: Sequence[Unit], scores: Mapping[str, UnitScore], vetoes: Iterable[str], rules: Rules
) -> list[UnitResult]:
    """Every unit's result with its ranks, from its reduced tally (none: no votes). The
    ranking done by the database streams its histograms unit by unit into ``scores``."""
    vetoed = set(vetoes)
    results = []
    for u in units:
        s = scores.get(u.code) or NO_VOTES
        results.append(
            UnitResult(
                code=u.code,
                name=u.name,
                system=u.system,
                votes=s.votes,
                score=None if s.exact is None else round_half_up(s.exact),
                exact_score=s.exact,
                mean=s.mean,
                satisfied_share=s.satisfied_share,
                dissatisfied_share=s.dissatisfied_share,
                status=VETOED
                if u.code in vetoed
                else (
                    RANKED if s.votes >= rules.min_votes and s.exact is not None else INSUFFICIENT
                ),
            )
        )
    assign_ranks(results, rules)
    return results
