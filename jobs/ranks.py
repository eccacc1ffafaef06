"""Ranks (docs/rules.md): the tie-break order, competition ranks within systems and overall, z-scores
across systems, and the top and bottom lists.

Pure, like ``jobs.scoring`` that calls it: unit results in, ranks and lists out, whatever order
the units come in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

from service.rules import Rules

RANKED, INSUFFICIENT, VETOED = "ranked", "insufficient", "vetoed"


@dataclass
class UnitResult:
    """A unit's result: the published score and everything the tie-breaks look at."""

    code: str
    name: str
    system: str
    votes: int
    score: Decimal | None
    exact_score: Fraction | None
    mean: Fraction | None
    satisfied_share: Fraction | None
    dissatisfied_share: Fraction | None
    status: str = INSUFFICIENT
    rank_in_system: int | None = None
    rank_overall: int | None = None
    zscore: Decimal | None = None


def _tie_key(u: UnitResult, primary: Decimal | Fraction | None) -> tuple:
    """The order (docs/rules.md): score, then 满意 share, 不满意 share, untrimmed mean, votes; None sorts last."""
    if primary is None:
        return (1,)
    return (
        0,
        -primary,
        -(u.satisfied_share or 0),
        u.dissatisfied_share or 0,
        -(u.mean or 0),
        -u.votes,
    )


def _rank(
    units: list[UnitResult], primary: Mapping[str, Decimal | Fraction | None]
) -> dict[str, int]:
    """Competition ranks (1, 2, 2, 4); vetoed units after all others, ordered the same way."""
    keyed = sorted(((u.status == VETOED, _tie_key(u, primary[u.code])), u.code) for u in units)
    ranks: dict[str, int] = {}
    previous = None
    for i, (key, code) in enumerate(keyed):
        if key != previous:
            rank, previous = i + 1, key
        ranks[code] = rank
    return ranks


def assign_ranks(results: list[UnitResult], rules: Rules) -> None:
    """Set each rankable unit's rank in its system and overall (raw scores, or z-scores
    across systems when ``cross_system = "zscore"``); insufficient units get none."""
    rankable = [u for u in results if u.status != INSUFFICIENT]
    by_code = {u.code: u for u in rankable}
    for system in {u.system for u in rankable}:
        members = [u for u in rankable if u.system == system]
        for code, rank in _rank(members, {u.code: u.score for u in members}).items():
            by_code[code].rank_in_system = rank
    if rules.cross_system == "zscore":
        keys = _standardise(rankable)
        primary = {u.code: keys.get(u.code) for u in rankable}
    else:
        primary = {u.code: u.score for u in rankable}
    for code, rank in _rank(rankable, primary).items():
        by_code[code].rank_overall = rank


def _standardise(units: list[UnitResult]) -> dict[str, Fraction]:
    """Exact order keys for z = (score − system mean) / system SD, and ``zscore`` rounded to 4
    decimals for readers.

    The mean and the population SD are taken over the system's ranked units only: a vetoed
    unit's score says nothing about how the others compare, so it must not move them
    (docs/rules.md, Comparing systems). A vetoed unit is still given its z against that
    population, which orders the vetoed units among themselves.

    The key is z·|z| = d·|d| / variance, a strictly increasing function of z that needs no
    square root, so two z-scores are compared exactly (equal z-scores really tie).
    """
    keys: dict[str, Fraction] = {}
    for system in {u.system for u in units}:
        scored = [u for u in units if u.system == system and u.score is not None]
        population = [Fraction(u.score) for u in scored if u.status == RANKED]
        mean = sum(population, Fraction(0)) / len(population) if population else Fraction(0)
        var = (
            sum(((v - mean) ** 2 for v in population), Fraction(0)) / len(population)
            if population
            else Fraction(0)
        )
        with localcontext() as ctx:
            ctx.prec = 40
            sd = Decimal(var.numerator).sqrt() / Decimal(var.denominator).sqrt()
            for u in scored:
                d = Fraction(u.score) - mean
                keys[u.code] = Fraction(0) if var == 0 else d * abs(d) / var
                z = Decimal(0) if var == 0 else Decimal(d.numerator) / Decimal(d.denominator) / sd
                u.zscore = z.quantize(Decimal("0.0001"))
    return keys


def order_key(u: UnitResult) -> tuple:
    """Units with an overall rank first, by rank, then the rest; code breaks ties."""
    ranked = u.rank_overall is not None
    return (not ranked, u.rank_overall or 0, u.code)


def overall_order(results: list[UnitResult], systems: Sequence[str]) -> list[UnitResult]:
    """Ranked units by overall rank (vetoed last among them), then unranked by system and code."""
    position = {s: i for i, s in enumerate(systems)}
    return sorted(
        results,
        key=lambda u: (*order_key(u)[:2], position.get(u.system, len(position)), u.system, u.code),
    )


def top_list(results: list[UnitResult], rules: Rules) -> list[str]:
    """The first ``top`` ranked units, never a vetoed one; a tie at the cut-off takes in every
    tied unit."""
    eligible = sorted((u for u in results if u.status == RANKED), key=order_key)
    if rules.top <= 0 or not eligible:
        return []
    cut = eligible[min(rules.top, len(eligible)) - 1].rank_overall
    return [u.code for u in eligible if u.rank_overall <= cut]


def bottom_list(results: list[UnitResult], rules: Rules) -> list[str]:
    """The last ``bottom`` ranked units, worst first; a tie at the cut-off takes in every tied unit."""
    ranked = sorted((u for u in results if u.rank_overall is not None), key=order_key)
    if rules.bottom <= 0 or not ranked:
        return []
    cut = ranked[max(len(ranked) - rules.bottom, 0)].rank_overall
    chosen = [u for u in ranked if u.rank_overall >= cut]
    return [u.code for u in sorted(chosen, key=lambda u: (-u.rank_overall, u.code))]
