"""The quarter and the half year (一季一汇总、半年一总评, docs/rules.md "Summary rounds"), as a
pure function of published numbers.

A summary round's score of a unit is ``Q = w·M + (1 − w)·L``: M the exact mean of the unit's
published (two-decimal) scores in the constituent rounds where it has one, L the leaders' score
from the summary round's own ballots (the monthly rules with ``min_votes = 1``), w the rules'
``monthly_weight`` (0.7); ``Q = M`` when no leader scored the unit. It is computed exactly from
the published numbers, so anyone can recompute it from the circulars, and rounded half up once.
The half year is the same over its quarters' published Q. A veto anywhere below carries up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from jobs.ranks import (
    INSUFFICIENT,
    RANKED,
    VETOED,
    UnitResult,
    assign_ranks,
    bottom_list,
    order_key,
    overall_order,
    top_list,
)
from jobs.scoring import (
    BallotInput,
    Ranking,
    SeatInfo,
    UnitInfo,
    compute_ranking,
    round_half_up,
)
from service.rules import Rules


@dataclass(frozen=True)
class PartScore:
    """A unit in one constituent round, as that round published it."""

    score: Decimal | None
    vetoed: bool = False


@dataclass(frozen=True)
class SummaryUnit:
    """What the summary adds to a unit's result: its constituents' scores, M and L."""

    rounds: dict[str, float | None]
    mean: Fraction | None
    leaders: Decimal | None
    leader_votes: int


@dataclass
class Summary:
    """A summary round's ranking: the leaders' own ranking (participation, ballot statuses)
    and the combined unit results in overall order, with the lists."""

    leaders: Ranking
    units: list[UnitResult]
    parts: dict[str, SummaryUnit]
    top: list[str]
    bottom: list[str]
    vetoed: list[str]

    def to_json(self, round_id: str, kind: str, constituents: Sequence[str]) -> dict:
        """The ranking JSON of docs/rules.md with, per unit, ``parts``: the constituents'
        published scores, M (two decimals, for reading; Q uses it exactly) and L."""
        base = self.leaders.to_json(round_id, kind)
        units = []
        for u in self.units:
            part = self.parts[u.code]
            units.append(
                {
                    "code": u.code,
                    "name": u.name,
                    "system": u.system,
                    "score": None if u.score is None else float(u.score),
                    "votes": part.leader_votes,
                    "status": u.status,
                    "rank_in_system": u.rank_in_system,
                    "rank_overall": u.rank_overall,
                    "parts": {
                        "rounds": {r: part.rounds.get(r) for r in constituents},
                        "mean": None if part.mean is None else float(round_half_up(part.mean)),
                        "leaders": None if part.leaders is None else float(part.leaders),
                    },
                }
            )
        return {
            **base,
            "constituents": list(constituents),
            "units": units,
            "top": list(self.top),
            "bottom": list(self.bottom),
            "vetoed": list(self.vetoed),
        }


def combine(mean: Fraction | None, leaders: Decimal | None, weight: Fraction) -> Fraction | None:
    """Q (or H) exactly: ``weight·M + (1 − weight)·L``, or M alone when no leader scored."""
    if mean is None:
        return None
    if leaders is None:
        return mean
    return weight * mean + (1 - weight) * Fraction(leaders)


def compute_summary(
    units: Sequence[UnitInfo],
    parts: Mapping[str, Mapping[str, PartScore]],
    seats: Sequence[SeatInfo],
    ballots: Iterable[BallotInput],
    vetoes: Iterable[str],
    rules: Rules,
    systems: Sequence[str] = (),
) -> Summary:
    """Rank a quarterly or half-year round (docs/rules.md, Summary rounds).

    ``parts``: each constituent round's published result, unit code → PartScore; a unit missing
    from a part has no score there. ``seats``/``ballots``: the leaders' panel and its accepted
    ballots. ``vetoes``: the summary round's own.
    """
    # L: the monthly rules on the leaders' ballots, with one vote enough (trimming still from 7).
    leaders = compute_ranking(
        units, seats, ballots, (), dataclasses.replace(rules, min_votes=1), systems
    )
    scored = {u.code: u.score for u in leaders.units if u.votes and u.score is not None}
    leader_votes = {u.code: u.votes for u in leaders.units}
    vetoed = set(vetoes) | {code for part in parts.values() for code, p in part.items() if p.vetoed}
    results, extra = [], {}
    for u in units:
        published = {r: part.get(u.code) for r, part in parts.items()}
        scores = [Fraction(p.score) for p in published.values() if p and p.score is not None]
        mean = sum(scores, Fraction(0)) / len(scores) if scores else None
        exact = combine(mean, scored.get(u.code), rules.monthly_weight)
        # A vetoed unit with no score at all has nothing to be placed by: insufficient, and
        # still named among the vetoed.
        status = INSUFFICIENT if exact is None else (VETOED if u.code in vetoed else RANKED)
        results.append(
            UnitResult(
                code=u.code,
                name=u.name,
                system=u.system,
                # The order is score, then the higher exact M, then a shared rank: with no
                # shares and no votes set, ``jobs.ranks`` orders by score, then ``mean``, and
                # no further. (The JSON's ``votes`` is the number of leaders who scored it.)
                votes=0,
                score=None if exact is None else round_half_up(exact),
                exact_score=exact,
                mean=mean,
                satisfied_share=None,
                dissatisfied_share=None,
                status=status,
            )
        )
        extra[u.code] = SummaryUnit(
            rounds={
                r: None if p is None or p.score is None else float(p.score)
                for r, p in published.items()
            },
            mean=mean,
            leaders=scored.get(u.code),
            leader_votes=leader_votes.get(u.code, 0),
        )
    assign_ranks(results, rules)
    return Summary(
        leaders=leaders,
        units=overall_order(results, systems),
        parts=extra,
        top=top_list(results, rules),
        bottom=bottom_list(results, rules),
        vetoed=[u.code for u in sorted(results, key=order_key) if u.code in vetoed],
    )
