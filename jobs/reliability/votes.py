"""The counted votes of a round as a matrix: one row per accepted ballot, one column per unit.

The statistics resample and compare whole ballots, so they need each evaluator's votes side by
side. The matrix holds exactly what the official score counts (``jobs.scoring``): the accepted
ballot of each seat, recused units left out, a vote being the weighted mean of the criteria
answered; NaN where there is no vote (不了解, not answered, recused). Floats are fine here: the
published scores are computed exactly elsewhere, and these numbers only describe their spread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jobs.scoring import (
    BallotInput,
    SeatInfo,
    UnitInfo,
    answered_criteria,
    combined_vote,
    criteria_weights,
    settle_ballots,
)
from service.rules import Rules


@dataclass(frozen=True)
class VoteMatrix:
    """``votes[i, j]``: ballot i's vote on unit j, NaN for none; ``labels[i, j]``: its answer's
    label index in ``label_names`` (-1: a number, or no vote) for straight-lining checks;
    ``groups[i]``: the index of ballot i's evaluator group in ``group_names``; ``seats[i]``: the
    position of its seat in the round's seat list (for admins' flags only, never published)."""

    votes: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    group_names: list[str]
    label_names: list[str]
    seats: np.ndarray
    units: list[str]


def vote_matrix(
    units: Sequence[UnitInfo],
    seats: Sequence[SeatInfo],
    ballots: Sequence[BallotInput],
    rules: Rules,
) -> VoteMatrix:
    """The accepted ballots' votes; the same settling as the official ranking."""
    valid, _ = settle_ballots(seats, ballots, (u.code for u in units), rules)
    codes = [u.code for u in units]
    column = {code: j for j, code in enumerate(codes)}
    seat_at = {s.token: (n, s) for n, s in enumerate(seats)}
    weights = criteria_weights(rules)
    label_names = [*rules.scale]
    label_at = {label: n for n, label in enumerate(label_names)}
    tokens = sorted(
        valid, key=lambda t: seat_at[t][0]
    )  # seat order: stable, independent of arrival
    group_names = sorted({seat_at[t][1].group for t in tokens})
    group_at = {g: n for n, g in enumerate(group_names)}
    votes = np.full((len(tokens), len(codes)), np.nan)
    labels = np.full((len(tokens), len(codes)), -1, dtype=np.int16)
    for i, token in enumerate(tokens):
        seat = seat_at[token][1]
        for unit, crits in valid[token].answers.items():
            j = column.get(unit)
            if j is None or unit in seat.recusals:
                continue
            answered = answered_criteria(crits, weights)
            if not answered:
                continue
            votes[i, j] = float(combined_vote(answered))
            if len(answered) == 1 and answered[0][1].label is not None:
                labels[i, j] = label_at.get(answered[0][1].label, -1)
    return VoteMatrix(
        votes=votes,
        labels=labels,
        groups=np.array([group_at[seat_at[t][1].group] for t in tokens], dtype=np.int32),
        group_names=group_names,
        label_names=label_names,
        seats=np.array([seat_at[t][0] + 1 for t in tokens], dtype=np.int32),
        units=codes,
    )
