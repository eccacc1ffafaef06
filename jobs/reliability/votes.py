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
from fractions import Fraction
from math import lcm

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
from service.store.vote_arrays import VoteArrays


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


@dataclass(frozen=True)
class Cells:
    """Each (ballot, unit) cell that has a vote, exactly: the vote is ``num / den`` (integers,
    the criteria's weighted mean with points on a common denominator); ``answers``: how many
    criterion answers made it; ``label``: the index in ``VoteArrays.labels`` of its single
    answer's label (-1: a number, or several criteria)."""

    row: np.ndarray
    unit: np.ndarray
    num: np.ndarray
    den: np.ndarray
    answers: np.ndarray
    label: np.ndarray


def _common(fractions: Sequence[Fraction]) -> tuple[int, np.ndarray]:
    """A common denominator and each fraction's numerator over it."""
    den = lcm(1, *(f.denominator for f in fractions))
    return den, np.array([int(f * den) for f in fractions], dtype=np.int64)


def cells_of(a: VoteArrays, n_units: int, rules: Rules) -> Cells:
    """The votes of ``a`` combined per (ballot, unit) as ``jobs.scoring.combined_vote`` does,
    in int64 (checked against overflow): one criterion gives the points themselves."""
    weights = criteria_weights(rules)
    keep = a.unit >= 0  # a vote on a unit the round does not list counts nowhere
    row, unit, crit, value, label = (
        x[keep] for x in (a.row, a.unit, a.criterion, a.value, a.label)
    )
    p_den, points = _common([Fraction(v) for v in a.values])
    _, weight = _common([weights[c] for c in a.criteria])
    if len(a.criteria) <= 1:  # one criterion, so one answer per cell: nothing to add up
        one = np.ones(len(row), dtype=np.int64)
        return Cells(row, unit, points[value], one * p_den, one, label.astype(np.int16))
    if len(points) and int(np.abs(points).max()) * int(weight.sum()) * len(a.criteria) >= 2**62:
        raise OverflowError("vote values too fine for exact int64 sums")
    cell = row.astype(np.int64) * n_units + unit
    found, inverse = np.unique(cell, return_inverse=True)
    num = np.zeros(len(found), dtype=np.int64)
    den = np.zeros(len(found), dtype=np.int64)
    answers = np.zeros(len(found), dtype=np.int64)
    np.add.at(num, inverse, weight[crit] * points[value])
    np.add.at(den, inverse, weight[crit])
    np.add.at(answers, inverse, 1)
    single = np.full(len(found), -1, dtype=np.int16)
    single[inverse] = label
    single[answers != 1] = -1
    rows, units = np.divmod(found, n_units)
    return Cells(rows.astype(np.int32), units.astype(np.int32), num, den * p_den, answers, single)


def _exact_floats(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``float(Fraction(num, den))`` for each pair, as the in-memory matrix has it: one IEEE
    division is correctly rounded when both integers are exact in a double (below 2**53)."""
    if not len(num) or max(int(np.abs(num).max()), int(den.max())) < 2**53:
        return num.astype(np.float64) / den.astype(np.float64)
    return np.array([float(Fraction(int(n), int(d))) for n, d in zip(num, den, strict=True)])


def stored_vote_matrix(a: VoteArrays, codes: list[str], rules: Rules) -> VoteMatrix:
    """The vote matrix from the store's arrays (``service.store.vote_arrays``), equal to
    :func:`vote_matrix` on the same round: rows are the accepted ballots in seat order, and
    ``seats`` holds seat ids (not positions) for the admins' flags."""
    cells = cells_of(a, len(codes), rules)
    votes = np.full((len(a.ballots), len(codes)), np.nan)
    votes[cells.row, cells.unit] = _exact_floats(cells.num, cells.den)
    scale_at = {label: n for n, label in enumerate(rules.scale)}
    # Index -1 (no label) reads the last entry, which is -1.
    to_scale = np.array([scale_at.get(x, -1) for x in a.labels] + [-1], dtype=np.int16)
    labels = np.full(votes.shape, -1, dtype=np.int16)
    labels[cells.row, cells.unit] = to_scale[cells.label]
    group_names = sorted({group for _, _, group, _ in a.ballots})
    group_at = {g: n for n, g in enumerate(group_names)}
    return VoteMatrix(
        votes=votes,
        labels=labels,
        groups=np.array([group_at[g] for _, _, g, _ in a.ballots], dtype=np.int32),
        group_names=group_names,
        label_names=[*rules.scale],
        seats=np.array([seat for _, seat, _, _ in a.ballots], dtype=np.int64),
        units=list(codes),
    )
