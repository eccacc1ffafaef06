"""How good the ballots are (docs/reliability.md): flags for admins, never a void; the evaluators'
agreement per system; a score with each evaluator's leniency taken out.

- **Straight-lining**: one answer to every unit voted on (at least ``STRAIGHT_MIN`` of them).
- **Leniency and severity**: how far an evaluator's votes sit from the other evaluators' mean of
  the same units, on average; flagged when that offset is more than ``FAR`` robust standard
  deviations (median and scaled MAD over the panel) from the panel's typical offset. With normal
  offsets about 1 evaluator in 2,000 is flagged by chance.
- **Near-identical pairs**: two ballots giving the same answer (no vote included) to at least
  ``SAME_SHARE`` of the units either voted on, over at least ``SAME_MIN`` such units: one person
  on two links, or a copied ballot.
- **Adjusted score**: each evaluator's votes standardised (their own mean and SD), averaged per
  unit and put back on the panel's scale; evaluators with one answer for everything carry no
  such information and are left out of it.
- **ICC(2,k)**: two-way random effects, average of k evaluators (Shrout and Fleiss), from
  method-of-moments variance components of the additive model vote = unit + evaluator + error,
  which reduces to the textbook mean-squares formula on a complete table and also copes with the
  gaps 不了解 leaves.
"""

from __future__ import annotations

import warnings

import numpy as np

# Φ⁻¹(3/4): the median absolute deviation of a normal sample over this is its SD. The constant
# scipy.stats.median_abs_deviation(scale="normal") divides by, written out so that the report
# does not import scipy.stats (about 1 s of every circular's start-up).
_NORMAL_MAD = 0.6744897501960817
STRAIGHT_MIN = 10
FAR = 3.5
SAME_SHARE = 0.97
SAME_MIN = 20


def quietly(function, *args, **kwargs):
    """numpy's nan-statistics warn on an all-NaN slice (an evaluator or unit with no vote); the
    NaN they return is the answer here, so the warning is noise in the worker's log."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return function(*args, **kwargs)


def straight_liners(votes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rows whose votes (or labels, where every vote has one) are all the same."""
    present = ~np.isnan(votes)
    count = present.sum(axis=1)
    lo = np.nanmin(np.where(present, votes, np.inf), axis=1)
    hi = np.nanmax(np.where(present, votes, -np.inf), axis=1)
    return (count >= STRAIGHT_MIN) & (lo == hi)


def leniency(votes: np.ndarray) -> np.ndarray:
    """Each evaluator's mean offset from the others' mean of the same units (NaN: no vote).

    Written as sums rather than an evaluators × units table of offsets (at province scale that
    table and its temporaries were most of a second): with ``T_j`` unit j's vote total, ``n_j``
    its votes and ``c_j = 1/(n_j − 1)``, evaluator i's offset on unit j is
    ``v_ij − (T_j − v_ij)·c_j = v_ij·(1 + c_j) − T_j·c_j``, so the sum over the units i voted
    on (with another voter) is two matrix-vector products."""
    present = ~np.isnan(votes)
    filled = np.where(present, votes, 0.0)
    n = present.sum(axis=0)
    others = n > 1
    c = np.where(others, 1.0 / np.maximum(n - 1, 1), 0.0)
    total = filled.sum(axis=0)
    counted = present & others[None, :]
    count = counted.sum(axis=1)
    offsets = filled @ np.where(others, 1.0 + c, 0.0) - counted @ (total * c)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, offsets / count, np.nan)


def robust_sd(x: np.ndarray) -> float:
    """The scaled median absolute deviation of a 1-D array: the same arithmetic as
    ``scipy.stats.median_abs_deviation(x, scale="normal")``, so the same float."""
    return np.median(np.abs(x - np.median(x))) / _NORMAL_MAD


def lenient_and_severe(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lenient rows, severe rows, robust z of every row's offset)."""
    offset = leniency(votes)
    known = ~np.isnan(offset)
    z = np.full(offset.shape, np.nan)
    if known.sum() >= 5:
        centre = np.median(offset[known])
        spread = robust_sd(offset[known])
        if spread > 0:
            z[known] = (offset[known] - centre) / spread
    return z > FAR, z < -FAR, z


def near_duplicates(votes: np.ndarray, block: int = 128) -> list[tuple[int, int, int, int]]:
    """Pairs (i, j, same, compared), i < j, of rows that agree on at least ``SAME_SHARE`` of the
    units either voted on. Agreement is counted with one indicator matrix per value, so a
    province's 5,000 ballots need a handful of matrix products, not 12 million Python
    comparisons.

    Only pairs that can qualify are multiplied out: two ballots agree on at most as many units
    as the shorter one voted on, and either voted on at least as many as the longer one, so a
    pair qualifies only if ``shorter ≥ SAME_SHARE × longer``. Rows sorted by how many units they
    voted on, each block of rows is compared with the window of rows that passes this test (the
    bound is loosened by a margin, so rounding can never drop a pair); at province scale that is
    about a tenth of all pairs, and memory is a block's, not 5,000 × 5,000."""
    present = ~np.isnan(votes)
    if len(votes) < 2:
        return []
    count = present.sum(axis=1)
    order = np.argsort(count, kind="stable")  # by units voted on, then by row
    ordered = count[order]
    sorted_votes = votes[order]
    voted = (~np.isnan(sorted_votes)).astype(np.float32)
    indicators = [(sorted_votes == v).astype(np.float32) for v in np.unique(votes[present])]
    loose = SAME_SHARE - 0.01
    found: list[tuple[int, int, int, int]] = []
    for start in range(0, len(order), block):
        end = min(start + block, len(order))
        # Partners: from the block's first row on in sorted order (each pair once), up to the
        # longest row the block's longest could match. Contiguous slices: no copies.
        stop = int(np.searchsorted(ordered, ordered[end - 1] / loose, side="right"))
        rows, cols = slice(start, end), slice(start, stop)
        inter = voted[rows] @ voted[cols].T
        # float32 as the products are (exact: counts below 2**24), so that the share test
        # below rounds exactly as it would on the whole table.
        either = (ordered[rows, None] + ordered[None, cols]).astype(np.float32) - inter
        same = np.zeros_like(either)
        for m in indicators:
            same += m[rows] @ m[cols].T
        hit = (either >= SAME_MIN) & (same >= SAME_SHARE * either)
        for a, b in zip(*np.nonzero(hit), strict=True):
            if b <= a:
                continue  # itself, or a pair of the block met the other way round
            i, j = int(order[start + a]), int(order[start + b])
            found.append((min(i, j), max(i, j), int(same[a, b]), int(either[a, b])))
    return sorted(found)


def adjusted_scores(votes: np.ndarray) -> np.ndarray:
    """Per unit, the mean of the evaluators' standardised votes, back on the panel's scale.

    With sums and one matrix-vector product, not a table of z-scores: at province scale that
    table and nanmean's copies of it were a quarter of a GB beside the bootstrap's ranks."""
    present = ~np.isnan(votes)
    count = present.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(present, votes, 0.0).sum(axis=1) / count
        centred = np.where(present, votes - mean[:, None], 0.0)
        sd = np.sqrt((centred**2).sum(axis=1) / count)  # numpy's nanstd, ddof 0
    usable = (count >= 2) & (sd > 0)
    if not usable.any():
        return np.full(votes.shape[1], np.nan)
    scale = np.where(usable, 1.0 / np.where(usable, sd, 1.0), 0.0)
    voters = usable.astype(float) @ present
    with np.errstate(invalid="ignore", divide="ignore"):
        per_unit = np.where(voters > 0, (scale @ centred) / voters, np.nan)
    return np.mean(mean[usable]) + np.mean(sd[usable]) * per_unit


def icc2k(votes: np.ndarray, iterations: int = 200) -> float | None:
    """ICC(2,k) of a units × evaluators table with gaps (NaN), or None with too little data.

    ``votes`` is evaluators × units (as the vote matrix). The additive fit is found by
    alternating means (exact on a complete table); the components are then
    σ²_e = SSE / (N − n − k + 1), σ²_unit = var(unit effects) − mean(σ²_e / votes per unit),
    σ²_evaluator likewise, and ICC(2,k) = σ²_unit / (σ²_unit + (σ²_evaluator + σ²_e) / k̄).
    """
    table = votes.T  # units × evaluators
    present = ~np.isnan(table)
    keep_rows = present.sum(axis=1) >= 2
    keep_cols = present[keep_rows].sum(axis=0) >= 2
    # The fit works on the votes alone (a province's table is three quarters gaps), as
    # (unit, evaluator, vote) triples; np.bincount sums them per unit and per evaluator.
    rows, cols = np.nonzero(present[np.ix_(keep_rows, keep_cols)])
    n, k = int(keep_rows.sum()), int(keep_cols.sum())
    if n < 2 or k < 2:
        return None
    x = table[np.ix_(keep_rows, keep_cols)][rows, cols]
    per_row = np.bincount(rows, minlength=n)
    per_col = np.bincount(cols, minlength=k)
    grand = x.sum() / len(x)
    centred = x - grand
    unit = np.zeros(n)
    rater = np.zeros(k)
    for _ in range(iterations):
        unit_new = np.bincount(rows, centred - rater[cols], minlength=n) / per_row
        rater_new = np.bincount(cols, centred - unit_new[rows], minlength=k) / per_col
        moved = max(np.abs(unit_new - unit).max(), np.abs(rater_new - rater).max())
        unit, rater = unit_new, rater_new
        if moved < 1e-10:
            break
    residual = centred - unit[rows] - rater[cols]
    dof = len(x) - n - k + 1
    if dof <= 0:
        return None
    error = float((residual**2).sum() / dof)
    var_unit = float(np.var(unit, ddof=1) - np.mean(error / per_row))
    var_rater = float(np.var(rater, ddof=1) - np.mean(error / per_col))
    mean_k = float(len(x) / n)
    denominator = var_unit + (var_rater + error) / mean_k
    return None if denominator <= 0 else var_unit / denominator
