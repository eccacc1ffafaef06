"""The reliability report of a monthly round, as a pure function (docs/reliability.md).

In: the round's units, seats and ballots as the official ranking read them, that ranking's JSON,
the rules, a seed and the bottom lists of the two months before. Out: the public report (every
unit's 90% rank intervals, P(in the bottom list), leniency-adjusted score; the bottom list's
confirmed/tied verdicts; ICC(2,k) per system; counts of flagged ballots) and, apart, the flags
themselves, by position in ``seats``, for admins only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jobs.reliability.blas import one_blas_thread, side_by_side
from jobs.reliability.bootstrap import (
    bottom_membership,
    competition_ranks,
    interval,
    order_keys,
    resample_counts,
    resample_scores,
    system_ranks,
)
from jobs.reliability.quality import (
    adjusted_scores,
    icc2k,
    lenient_and_severe,
    near_duplicates,
    quietly,
    straight_liners,
)
from jobs.reliability.votes import VoteMatrix, vote_matrix
from jobs.scoring import BallotInput, SeatInfo, UnitInfo
from service.rules import Rules

B = 2000
LEVEL = 0.90
# A bottom-list unit is confirmed when P(bottom) reaches this and its score lies below the median
# in all but this share of the resamples (a one-sided 95% test) ...
CONFIRM_P = 0.5
BELOW_MEDIAN_ALPHA = 0.05
# ... or when it was in the bottom list in this many of the last three months (this one included).
PERSISTENT = 2


def _pair_tied(a: np.ndarray, b: np.ndarray, tail: float) -> bool:
    """Whether the (1 − 2·tail) interval of a − b over the resamples holds 0."""
    both = ~np.isnan(a) & ~np.isnan(b)
    if not both.any():
        return True
    d = a[both] - b[both]
    return bool(np.mean(d <= 0) >= tail and np.mean(d >= 0) >= tail)


def analyse(
    units: Sequence[UnitInfo],
    seats: Sequence[SeatInfo],
    ballots: Sequence[BallotInput],
    result: dict,
    rules: Rules,
    seed: int,
    seed_text: str,
    previous_bottoms: Sequence[Sequence[str]] = (),
    b: int = B,
) -> tuple[dict, list[dict]]:
    """The public report and the admin flags (``seat``: 1-based position in ``seats``), from
    ballots in memory (the rule tests' and the benchmark's way in)."""
    m = vote_matrix(units, seats, ballots, rules)
    return analyse_matrix(m, units, result, rules, seed, seed_text, previous_bottoms, b)


@one_blas_thread()
def analyse_matrix(
    m: VoteMatrix,
    units: Sequence[UnitInfo],
    result: dict,
    rules: Rules,
    seed: int,
    seed_text: str,
    previous_bottoms: Sequence[Sequence[str]] = (),
    b: int = B,
) -> tuple[dict, list[dict]]:
    """The public report and the admin flags (``seat``: as ``m.seats`` holds it) from a vote
    matrix, however it was read: in memory (``vote_matrix``) or from the store's arrays
    (``stored_vote_matrix``); the report depends on the matrix alone. Its matrix products run
    on one BLAS thread (``jobs.reliability.blas``: faster on 2 shared cores, same numbers)."""
    codes = m.units
    official = {u["code"]: u for u in result["units"]}
    system_names = list(dict.fromkeys(u.system for u in units))
    systems = np.array([system_names.index(u.system) for u in units])
    vetoed = np.array([official[c]["status"] == "vetoed" for c in codes], dtype=bool)
    # Independent parts run side by side (jobs.reliability.blas), in three steps arranged so
    # that the large working sets (a few hundred MB each at province scale) do not all meet:
    # the flags beside the resample counts and then the ICCs and adjusted scores; the
    # resamples, on both threads; their ranks in each system beside the overall ranks.
    rng = np.random.Generator(np.random.PCG64(seed))

    def agreement() -> tuple[np.ndarray, dict[str, float | None]]:
        icc = {}
        for s, name in enumerate(system_names):
            value = icc2k(m.votes[:, systems == s])
            icc[name] = None if value is None else round(value, 3)
        return adjusted_scores(m.votes), icc

    flags, counts, (adjusted, icc) = side_by_side(
        lambda: _flags(m), lambda: resample_counts(m.groups, b, rng), agreement
    )
    sc = resample_scores(m.votes, m.groups, counts, rules, m.group_names)
    del counts
    ranked = (sc.votes >= rules.min_votes) & ~np.isnan(sc.score) & ~vetoed[None, :]
    keys_in, keys_all = order_keys(
        sc.score, ranked, vetoed, systems, rules.cross_system == "zscore"
    )
    keys_in = np.where(ranked | vetoed[None, :], keys_in, np.nan)

    def overall() -> tuple[np.ndarray, ...]:
        ranks_all = competition_ranks(keys_all)
        p_bottom = bottom_membership(ranks_all, rules.bottom).mean(axis=0)
        return p_bottom, *interval(ranks_all, LEVEL)

    def in_system() -> tuple[np.ndarray, ...]:
        median = quietly(np.nanmedian, np.where(ranked, sc.score, np.nan), axis=1)
        return *interval(system_ranks(keys_in, systems), LEVEL), median

    (p_bottom, lo_all, hi_all), (lo_in, hi_in, median) = side_by_side(overall, in_system)
    per_unit = {}
    for j, code in enumerate(codes):
        has_rank = official[code]["rank_overall"] is not None
        per_unit[code] = {
            "rank_overall": [int(lo_all[j]), int(hi_all[j])] if has_rank else None,
            "rank_in_system": [int(lo_in[j]), int(hi_in[j])] if has_rank else None,
            "p_bottom": round(float(p_bottom[j]), 3),
            "adjusted_score": None
            if np.isnan(adjusted[j]) or official[code]["score"] is None
            else round(float(adjusted[j]), 2),
        }
    column = {c: j for j, c in enumerate(codes)}
    bottom = list(result.get("bottom") or ())
    confidence, evidence, tied_with = {}, {}, {}
    outside = [
        c
        for c in sorted(codes, key=lambda c: -(official[c]["rank_overall"] or 0))
        if official[c]["status"] == "ranked" and c not in bottom
    ]
    for code in bottom:
        j = column[code]
        scores = sc.score[:, j]
        known = ~np.isnan(scores) & ~np.isnan(median)
        below = bool(known.any() and np.mean(scores[known] >= median[known]) <= BELOW_MEDIAN_ALPHA)
        months = 1 + sum(code in set(earlier) for earlier in previous_bottoms[-2:])
        is_vetoed = official[code]["status"] == "vetoed"
        sure = is_vetoed or (p_bottom[j] >= CONFIRM_P and below) or months >= PERSISTENT
        confidence[code] = "confirmed" if sure else "tied"
        evidence[code] = {
            "p_bottom": round(float(p_bottom[j]), 3),
            "below_median": below,
            "months_in_bottom": months,
            "vetoed": is_vetoed,
        }
        if not sure:
            tail = (1 - LEVEL) / 2
            tied_with[code] = [
                c for c in outside if _pair_tied(sc.score[:, column[c]], scores, tail)
            ]
    report = {
        "bootstrap": {"b": b, "seed": seed_text, "level": LEVEL},
        "units": per_unit,
        "bottom_confidence": confidence,
        "bottom_evidence": evidence,
        "tied_with": tied_with,
        "icc": icc,
    }
    report["quality_counts"] = {
        "ballots": len(m.votes),
        **{kind: sum(1 for f in flags if f["kind"] == kind)
           for kind in ("straight_line", "lenient", "severe", "near_duplicate")},
    }  # fmt: skip
    return report, flags


def _flags(m: VoteMatrix) -> list[dict]:
    """Per-ballot flags (admins only): who answered everything alike, who was far more lenient
    or severe than the panel, which pairs of ballots are near-identical."""
    flags = []
    labels = m.label_names
    for i in np.flatnonzero(straight_liners(m.votes, m.labels)):
        voted = ~np.isnan(m.votes[i])
        label = {int(x) for x in m.labels[i][voted]}
        what = (
            labels[label.pop()]
            if len(label) == 1 and -1 not in label
            else f"{np.nanmax(m.votes[i]):g}"
        )
        detail = f"the same answer ({what}) to all {int(voted.sum())} units voted on"
        flags.append(
            {"seat": int(m.seats[i]), "kind": "straight_line", "with": None, "detail": detail}
        )
    lenient, severe, z = lenient_and_severe(m.votes)
    for kind, rows in (("lenient", lenient), ("severe", severe)):
        for i in np.flatnonzero(rows):
            detail = (
                f"votes {z[i]:+.1f} robust SD from the panel's usual offset to the others' mean"
            )
            flags.append({"seat": int(m.seats[i]), "kind": kind, "with": None, "detail": detail})
    for i, j, same, compared in near_duplicates(m.votes):
        flags.append({
            "seat": int(m.seats[i]), "kind": "near_duplicate", "with": int(m.seats[j]),
            "detail": f"the same answer on {same} of {compared} units either voted on",
        })  # fmt: skip
    return sorted(flags, key=lambda f: (f["kind"], f["seat"], f["with"] or 0))
