"""The scoring rules of docs/rules.md, as a pure function of plain data (the order and
lists are ``jobs.ranks``).

No database, no clock, no randomness: the same inputs give the same ranking whatever their order,
so anyone can recompute a circular. Every mean is exact (``Fraction``) and only the published
score is rounded, half up, to two decimals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from jobs.ranks import (
    VETOED,
    UnitResult,
    bottom_list,
    order_key,
    overall_order,
    top_list,
)
from jobs.tallies import Tally, round_half_up, unit_results
from service.rules import Rules, check_group_weights

ACCEPTED, SUPERSEDED, INVALID = "accepted", "superseded", "invalid"


@dataclass(frozen=True)
class UnitInfo:
    """An active unit of the round."""

    code: str
    name: str
    system: str


@dataclass(frozen=True)
class SeatInfo:
    """A seat as scoring sees it: its token, its group and its recusals; never a person."""

    token: str
    group: str
    recusals: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Answer:
    """One criterion answer: the scale label (None for a number) and points (None = no vote)."""

    label: str | None
    points: Fraction | None


@dataclass(frozen=True)
class BallotInput:
    """An accepted ballot: it passed judging (docs/rules.md) at intake (token, window, units, scale)."""

    key: str
    token: str
    submitted_at: datetime
    answers: Mapping[str, Mapping[str, Answer]]


@dataclass
class Ranking:
    """The outcome of a round: participation, unit results in overall order, the lists."""

    seats: int
    ballots: int
    valid_ballots: int
    valid: bool
    units: list[UnitResult]
    top: list[str]
    bottom: list[str]
    vetoed: list[str]
    ballot_status: dict[str, str] = field(default_factory=dict)

    def to_json(self, round_id: str, kind: str) -> dict:
        """The docs/rules.md JSON, plus shares and the untrimmed mean for readers who check."""
        return {
            "round": round_id,
            "kind": kind,
            "valid": self.valid,
            "participation": {
                "seats": self.seats,
                "ballots": self.ballots,
                "valid_ballots": self.valid_ballots,
            },
            "units": [_unit_json(u) for u in self.units],
            "top": list(self.top),
            "bottom": list(self.bottom),
            "vetoed": list(self.vetoed),
        }


def _unit_json(u: UnitResult) -> dict:
    return {
        "code": u.code,
        "name": u.name,
        "system": u.system,
        "score": None if u.score is None else float(u.score),
        "votes": u.votes,
        "status": u.status,
        "rank_in_system": u.rank_in_system,
        "rank_overall": u.rank_overall,
        "mean": _publish(u.mean),
        "satisfied_share": _publish(u.satisfied_share, 4),
        "dissatisfied_share": _publish(u.dissatisfied_share, 4),
    }


def _publish(value: Fraction | None, places: int = 2) -> float | None:
    return None if value is None else float(round_half_up(value, places))


def settle_ballots(
    seats: Sequence[SeatInfo],
    ballots: Iterable[BallotInput],
    active_units: Iterable[str],
    rules: Rules,
) -> tuple[dict[str, BallotInput], dict[str, str]]:
    """Pick each seat's winning ballot and judge its coverage (docs/rules.md).

    Returns the valid winning ballots by token and the status of every ballot given. The latest
    ``submitted_at`` wins; equal times fall back to the ballot key so the result never depends
    on the order ballots arrived in.
    """
    active = frozenset(active_units)

    def voted(b: BallotInput, asked: frozenset[str]) -> int:
        return sum(
            1
            for unit, crits in b.answers.items()
            if unit in asked and any(a.points is not None for a in crits.values())
        )

    return settle(seats, ballots, active, rules, voted)


def settle(
    seats: Sequence[SeatInfo],
    ballots: Iterable,
    active: frozenset[str],
    rules: Rules,
    voted: Callable[[Any, frozenset[str]], int],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The settling rule on anything with ``key``, ``token`` and ``submitted_at``: ``voted(b,
    asked)`` says on how many of the seat's ``asked`` units (the active ones, less its
    recusals) the ballot gave points. The database path counts those in SQL
    (``jobs.ranking``), the in-memory path from the answers (:func:`settle_ballots`)."""
    by_token = {s.token: s for s in seats}
    latest: dict[str, Any] = {}
    status: dict[str, str] = {}
    for b in ballots:
        status[b.key] = SUPERSEDED
        if b.token not in by_token:
            # Its seat is no longer active: replaced (or its draw redone) after the ballot came
            # in. The seat's new holder speaks for it now, so this ballot stops counting, and
            # its stored status must say so: the ranking from grouped counts reads it.
            continue
        best = latest.get(b.token)
        if best is None or (b.submitted_at, b.key) > (best.submitted_at, best.key):
            latest[b.token] = b
    valid: dict[str, Any] = {}
    # Seats with the same recusals (most have none) are asked the same units: each set and its
    # threshold is made once, not per seat (5,000 copies of a province's 2,000 units otherwise).
    asked_by: dict[frozenset[str], tuple[frozenset[str], Fraction]] = {}
    for token, b in latest.items():
        recusals = by_token[token].recusals
        if recusals not in asked_by:
            asked = active - recusals if recusals else active
            asked_by[recusals] = (asked, rules.min_coverage * len(asked))
        asked, needed = asked_by[recusals]
        if voted(b, asked) < needed:
            status[b.key] = INVALID
        else:
            status[b.key] = ACCEPTED
            valid[token] = b
    return valid, status


def criteria_weights(rules: Rules) -> dict[str, Fraction]:
    """The criteria that count, by name, with their weights."""
    return {c.name: c.weight for c in rules.criteria if c.weight > 0}


def answered_criteria(
    crits: Mapping[str, Answer], weights: Mapping[str, Fraction]
) -> list[tuple[Fraction, Answer]]:
    """A ballot's answers on one unit that carry points, with their criterion's weight."""
    return [
        (w, a)
        for c, a in crits.items()
        if a.points is not None and (w := weights.get(c)) is not None
    ]


def combined_vote(answered: Sequence[tuple[Fraction, Answer]]) -> Fraction:
    """An evaluator's vote on a unit: the weighted mean of the criteria they answered."""
    if len(answered) == 1:  # one criterion (the default): the vote is its points
        return answered[0][1].points
    return sum(w * a.points for w, a in answered) / sum(w for w, _ in answered)


def _tally(
    seats: Sequence[SeatInfo],
    valid: Mapping[str, BallotInput],
    units: Sequence[UnitInfo],
    rules: Rules,
) -> dict[str, Tally]:
    weights = criteria_weights(rules)
    by_token = {s.token: s for s in seats}
    tallies = {u.code: Tally() for u in units}
    for token, ballot in valid.items():
        seat = by_token[token]
        for unit, crits in ballot.answers.items():
            tally = tallies.get(unit)
            if tally is None or unit in seat.recusals:
                continue
            answered = answered_criteria(crits, weights)
            if not answered:
                continue
            vote = combined_vote(answered)
            tally.votes[seat.group, vote] += 1
            tally.answers += len(answered)
            for _, a in answered:
                if a.label == rules.satisfied_label:
                    tally.satisfied += 1
                elif a.label == rules.dissatisfied_label:
                    tally.dissatisfied += 1
    return tallies


def compute_ranking(
    units: Sequence[UnitInfo],
    seats: Sequence[SeatInfo],
    ballots: Iterable[BallotInput],
    vetoes: Iterable[str],
    rules: Rules,
    systems: Sequence[str] = (),
) -> Ranking:
    """Compute a monthly round's ranking from its accepted ballots (docs/rules.md).

    Refuses (``RulesError``) group weights that leave out a group holding seats.
    """
    check_group_weights(rules, (s.group for s in seats))
    valid, status = settle_ballots(seats, ballots, (u.code for u in units), rules)
    tallies = _tally(seats, valid, units, rules)
    results = unit_results(units, tallies, vetoes, rules)
    seats_n, valid_n = len(seats), len(valid)
    return Ranking(
        seats=seats_n,
        ballots=sum(1 for s in status.values() if s != SUPERSEDED),
        valid_ballots=valid_n,
        valid=seats_n > 0
        and valid_n * rules.quorum.denominator >= rules.quorum.numerator * seats_n,
        units=overall_order(results, systems),
        top=top_list(results, rules),
        bottom=bottom_list(results, rules),
        vetoed=[u.code for u in sorted(results, key=order_key) if u.status == VETOED],
        ballot_status=status,
    )
