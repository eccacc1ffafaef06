"""The bootstrap of ranks (docs/reliability.md): how far a unit's rank could move had another
panel of the same kind of evaluators answered.

Whole ballots are resampled with replacement within each evaluator group (the draw's strata), B
times; each resample is scored by the round's own rules (trimmed mean from ``trim_min_n`` votes,
group weights, ``min_votes``, vetoed units placed last, z-scores across systems when configured)
and ranked in each system and overall.

Scoring a resample needs, per unit, how many times each distinct vote value was drawn: with the
resample counts ``C`` (B × ballots) and the indicator matrix of value v (ballots × units), that
is one matrix product, ``C @ (votes == v)``, exact in float32 for counts below 2**24. The trimmed
sum then takes the k smallest and k largest votes off value by value. A county round (3 labels,
100 ballots, 98 units, B = 2000) is a few dozen such products.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from jobs.reliability.blas import in_parallel, workers
from service.rules import Rules

# Work on at most this many (resample × unit × value) cells in a chunk: bounds memory at
# province scale (2,000 units × 3 values: four chunks of 667 resamples, two at a time on two
# threads, about 250 MB of working arrays) and keeps county rounds in one chunk. Counts are exact
# in float32, so chunking changes no number.
_CELLS = 4_000_000


def resample_counts(groups: np.ndarray, b: int, rng: np.random.Generator) -> np.ndarray:
    """How often each ballot is drawn in each of ``b`` resamples (b × ballots), within groups:
    a group's ballot count is the same in every resample, as the draw fixes seats per group."""
    counts = np.zeros((b, len(groups)), dtype=np.float32)
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        n = len(members)
        counts[:, members] = rng.multinomial(n, np.full(n, 1.0 / n), size=b)
    return counts


@dataclass(frozen=True)
class Scores:
    """Scores of every unit in every resample (NaN: no vote) and the votes they rest on."""

    score: np.ndarray  # b × units
    votes: np.ndarray  # b × units


def _trimmed(
    counts: np.ndarray, indicators: list[np.ndarray], values: np.ndarray, rules: Rules
) -> tuple[np.ndarray, np.ndarray]:
    """Trimmed mean and vote count per (resample, unit) from per-value draw counts."""
    hist = [counts @ m for m in indicators]  # each b × units
    n = np.sum(hist, axis=0)
    total = np.sum([v * h for v, h in zip(values, hist, strict=True)], axis=0)
    k = rules.trim
    if k:
        trims = (n >= rules.trim_min_n) & (n > 2 * k)
        for order in (range(len(values)), range(len(values) - 1, -1, -1)):
            left = np.where(trims, float(k), 0.0)
            for i in order:
                take = np.minimum(hist[i], left)
                total -= take * values[i]
                left -= take
        n_kept = n - np.where(trims, 2.0 * k, 0.0)
    else:
        n_kept = n
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_kept > 0, total / n_kept, np.nan), n


def resample_scores(
    votes: np.ndarray, groups: np.ndarray, counts: np.ndarray, rules: Rules,
    group_names: list[str],
) -> Scores:  # fmt: skip
    """Every unit's score in every resample, by the round's rules (float, not exact)."""
    present = ~np.isnan(votes)
    values = np.unique(votes[present])
    b, units = counts.shape[0], votes.shape[1]
    score = np.full((b, units), np.nan)
    n_votes = np.zeros((b, units))
    if not len(values):
        return Scores(score, n_votes)
    weighted = bool(rules.group_weights)
    parts = [np.flatnonzero(groups == g) for g in range(len(group_names))] if weighted else [None]
    # As many chunks as _CELLS requires, a multiple of the threads, of even sizes.
    most = max(1, _CELLS // max(1, units * len(values)))
    pieces = -(-b // most)
    pieces = -(-pieces // workers()) * workers() if pieces > 1 else 1
    chunk = -(-b // pieces)
    # The indicators of each value, per group, are the same for every chunk of resamples.
    indicators = [
        (members, [((votes if members is None else votes[members]) == v).astype(np.float32)
                   for v in values])
        for members in parts
    ]  # fmt: skip

    def score_chunk(start: int) -> None:
        rows = slice(start, min(b, start + chunk))
        acc = np.zeros((rows.stop - rows.start, units))
        weight = np.zeros_like(acc)
        for g, (members, of_value) in enumerate(indicators):
            c = counts[rows] if members is None else counts[rows][:, members]
            mean, n = _trimmed(c, of_value, values, rules)
            n_votes[rows] += n
            if members is None:
                score[rows] = mean
                continue
            w = float(rules.group_weights[group_names[g]])
            has = n > 0
            acc += np.where(has, w * np.nan_to_num(mean), 0.0)
            weight += np.where(has, w, 0.0)
        if weighted:
            with np.errstate(invalid="ignore", divide="ignore"):
                score[rows] = np.where(weight > 0, acc / weight, np.nan)

    # Chunks write disjoint rows of ``score`` and ``n_votes``: they run side by side.
    in_parallel(score_chunk, range(0, b, chunk))
    return Scores(score, n_votes)


def order_keys(
    score: np.ndarray, ranked: np.ndarray, vetoed: np.ndarray, systems: np.ndarray, zscore: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Keys to rank by, higher first, NaN for no rank: in system (the score) and overall (the
    score, or the z-score within the system over its ranked units); vetoed units below all."""
    base = np.where(ranked, score, np.nan)
    overall = base.copy()
    if zscore:
        for s in np.unique(systems):
            cols = systems == s
            part = base[:, cols]
            with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(part, axis=1, keepdims=True)
                sd = np.nanstd(part, axis=1, keepdims=True)
                z = np.where(sd > 0, (score[:, cols] - mean) / sd, 0.0)
            overall[:, cols] = np.where(ranked[:, cols] | vetoed[None, cols], z, np.nan)
    # Vetoed units are placed after every ranked unit, in their own order; one with no score
    # at all after them.
    drop = np.where(np.isnan(score), -2e9, -1e9)
    in_system = np.where(vetoed[None, :], np.nan_to_num(score) + drop, base)
    overall = np.where(vetoed[None, :], np.nan_to_num(overall) + drop, overall)
    return in_system, overall


def competition_ranks(keys: np.ndarray) -> np.ndarray:
    """Ranks 1, 2, 2, 4 per row, higher key first; NaN where the key is NaN.

    Exactly ``scipy.stats.rankdata(-keys, method="min", axis=1, nan_policy="omit")`` (as
    tests/jobs/test_province_publish_ranks.py checks), in numpy alone: importing scipy.stats
    took about 1 s of every ``pingyi circular``'s start, for this and one median. A key's rank is
    one more than the position of the first equal key in its row sorted highest first; NaN
    sort last, so they move no rank."""
    if keys.size == 0:
        return keys.copy()
    order = np.argsort(-keys, axis=1, kind="stable")
    ordered = np.take_along_axis(-keys, order, axis=1)
    position = np.broadcast_to(np.arange(keys.shape[1]), keys.shape)
    starts = np.ones(keys.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
    ranks = np.empty(keys.shape)
    np.put_along_axis(ranks, order, first + 1.0, axis=1)
    ranks[np.isnan(keys)] = np.nan
    return ranks


def system_ranks(keys: np.ndarray, systems: np.ndarray) -> np.ndarray:
    ranks = np.full(keys.shape, np.nan)
    for s in np.unique(systems):
        cols = systems == s
        ranks[:, cols] = competition_ranks(keys[:, cols])
    return ranks


def bottom_membership(overall: np.ndarray, bottom: int) -> np.ndarray:
    """Whether each unit is in the bottom list of each resample: the last ``bottom`` ranked
    units, every unit tied at the cut included (as ``jobs.ranks.bottom_list``)."""
    member = np.zeros(overall.shape, dtype=bool)
    if bottom <= 0:
        return member
    ranked = ~np.isnan(overall)
    count = ranked.sum(axis=1)
    ordered = np.sort(np.where(ranked, overall, -np.inf), axis=1)[:, ::-1]  # worst first
    at = np.clip(np.minimum(bottom, count) - 1, 0, None)
    cut = ordered[np.arange(len(ordered)), at]
    member = ranked & (overall >= cut[:, None]) & (count[:, None] > 0)
    return member


def interval(ranks: np.ndarray, level: float = 0.90) -> tuple[np.ndarray, np.ndarray]:
    """The inclusive ``level`` interval of each column's ranks over the resamples where it has
    one (the lower from the ``(1 − level)/2`` quantile down, the upper from the other end up).

    Exactly ``np.nanpercentile(ranks, q, axis=0, method="lower" / "higher")``, NaN for a column
    never ranked, but from one sort of the whole table: nanpercentile goes column by column
    in Python, seconds for a province's 2,000 units. The positions are numpy's own:
    ``floor((n − 1)·q)`` and ``ceil((n − 1)·q)`` over a column's n ranks, q = percent / 100."""
    tail = (1 - level) / 2 * 100
    ordered = np.sort(ranks, axis=0)  # NaN sort last
    n = np.count_nonzero(~np.isnan(ranks), axis=0)
    columns = np.arange(ranks.shape[1])
    bounds = []
    for percent, rounding in ((tail, np.floor), (100 - tail, np.ceil)):
        at = rounding((n - 1) * np.true_divide(percent, 100)).astype(np.intp)
        bounds.append(np.where(n > 0, ordered[np.clip(at, 0, None), columns], np.nan))
    return bounds[0], bounds[1]
