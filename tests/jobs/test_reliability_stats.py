"""The reliability report's statistics on simulated rounds with known truth (docs/reliability.md):
the resampled scores are the official ones when nothing is resampled, intervals cover the true
ranks, an obvious bottom unit is confirmed, two units nobody can tell apart are tied, planted
careless, lenient and copied ballots are flagged and few others, ICC(2,k) is Shrout and Fleiss's,
and the same seed gives the same bytes."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.reliability.analysis import analyse
from jobs.reliability.bootstrap import resample_scores
from jobs.reliability.quality import adjusted_scores, icc2k, leniency
from jobs.reliability.votes import vote_matrix
from jobs.scoring import Answer, BallotInput, SeatInfo, UnitInfo, compute_ranking
from service.rules import Rules

AT = datetime(2026, 10, 20, tzinfo=UTC)
LABELS = {"满意": Fraction(100), "基本满意": Fraction(70), "不满意": Fraction(30)}


def _round(true: dict[str, float], n: int, rng: random.Random, numeric: bool = False, **rules):
    """n evaluators in two groups answering every unit around its true quality (0–1)."""
    units = [UnitInfo(c, c, "甲" if i % 2 else "乙") for i, c in enumerate(true)]
    seats = [SeatInfo(f"t{i:03d}", "人大代表" if i % 3 else "政协委员") for i in range(n)]
    ballots = []
    for seat in seats:
        answers = {}
        for code, q in true.items():
            if numeric:
                points = Fraction(round(min(100, max(0, rng.gauss(q * 100, 12)))))
                answers[code] = {"总体": Answer(None, points)}
            else:
                p = q + rng.gauss(0, 0.18)
                label = "满意" if p > 0.8 else "基本满意" if p > 0.45 else "不满意"
                answers[code] = {"总体": Answer(label, LABELS[label])}
        ballots.append(BallotInput(f"k{seat.token}", seat.token, AT, answers))
    rule = Rules(min_votes=5, **rules)
    ranking = compute_ranking(units, seats, ballots, [], rule, ["乙", "甲"])
    return units, seats, ballots, ranking.to_json("2026-10", "monthly"), rule


@pytest.mark.parametrize(
    ("numeric", "rules"),
    [(False, {}), (True, {}), (True, {"trim": 2, "trim_min_n": 9}),
     (False, {"group_weights": {"人大代表": 2, "政协委员": 1}})],
)  # fmt: skip
def test_without_resampling_the_scores_are_the_official_ones(numeric: bool, rules: dict) -> None:
    true = {f"U{i}": 0.4 + 0.05 * i for i in range(10)}
    units, seats, ballots, _, rule = _round(true, 30, random.Random(3), numeric, **rules)
    m = vote_matrix(units, seats, ballots, rule)
    once = np.ones((1, len(m.votes)), dtype=np.float32)
    got = resample_scores(m.votes, m.groups, once, rule, m.group_names).score[0]
    official = compute_ranking(units, seats, ballots, [], rule, ["乙", "甲"])
    exact = {u.code: float(u.exact_score) for u in official.units}
    assert np.allclose(got, [exact[c] for c in m.units], atol=1e-9)


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_numbers() -> None:
    units, seats, ballots, result, rule = _round({f"U{i}": 0.5 + 0.03 * i for i in range(12)}, 40,
                                                 random.Random(1))  # fmt: skip
    a = analyse(units, seats, ballots, result, rule, 7, "round id 2026-10", b=300)
    b = analyse(units, seats, ballots, result, rule, 7, "round id 2026-10", b=300)
    c = analyse(units, seats, ballots, result, rule, 8, "round id 2026-10", b=300)
    assert json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)
    assert json.dumps(a[0]["units"]) != json.dumps(c[0]["units"])


@pytest.mark.parametrize("weights", [{}, {"人大代表": 2, "政协委员": 1}])
def test_one_thread_or_two_and_any_chunking_give_the_same_bytes(monkeypatch, weights) -> None:
    """The report's parts run side by side and its resamples in chunks on two threads
    (jobs.reliability.blas); nothing published may depend on that. Here: one thread and
    whole, against two threads and chunks of 38 resamples (the last shorter), or of one."""
    from jobs.reliability import blas, bootstrap

    units, seats, ballots, result, rule = _round({f"U{i}": 0.5 + 0.03 * i for i in range(12)}, 40,
                                                 random.Random(1), group_weights=weights)  # fmt: skip

    def report(threads: int, cells: int) -> str:
        monkeypatch.setattr(blas, "workers", lambda: threads)
        monkeypatch.setattr(bootstrap, "workers", lambda: threads)
        monkeypatch.setattr(bootstrap, "_CELLS", cells)
        made = analyse(units, seats, ballots, result, rule, 7, "round id 2026-10", b=300)
        return json.dumps(made, ensure_ascii=False)

    whole = report(1, 10**9)
    assert report(2, 42 * 12 * 3) == whole
    assert report(2, 12 * 3) == whole  # one resample a chunk


def test_ninety_percent_intervals_cover_the_true_rank_for_most_units() -> None:
    """Numeric votes around known qualities: the true rank (by expected score) falls in the
    unit's 90% overall interval for at least 85% of units, over three simulated rounds."""
    covered = total = 0
    for seed in (11, 12, 13):
        rng = random.Random(seed)
        true = {f"U{i:02d}": rng.uniform(0.55, 0.85) for i in range(40)}
        units, seats, ballots, result, rule = _round(true, 60, rng, numeric=True)
        report, _ = analyse(units, seats, ballots, result, rule, seed, "test", b=600)
        order = sorted(true, key=lambda c: -true[c])
        for rank, code in enumerate(order, start=1):
            lo, hi = report["units"][code]["rank_overall"]
            covered += lo <= rank <= hi
            total += 1
    assert covered / total >= 0.85, covered / total


def test_a_unit_far_below_the_rest_is_confirmed_and_two_alike_at_the_cut_are_tied() -> None:
    """Twenty units of the same true quality and one far below. The worst of the twenty is at
    the cut by chance; another unit is given the same votes, shuffled among the evaluators (the
    same distribution, other ballots), so the two tie at the cut. Both are reported tied, with
    the units outside the list they cannot be told apart from; the far one is confirmed."""
    rng = random.Random(5)
    true = {f"U{i:02d}": 0.75 for i in range(20)}
    true["LOW"] = 0.15
    units, seats, ballots, result, rule = _round(true, 60, rng, numeric=True, bottom=2)
    second = [u["code"] for u in sorted(result["units"], key=lambda u: u["score"])][1]
    twin = next(c for c in true if c not in ("LOW", second))
    shuffled = [b.answers[second] for b in ballots]
    rng.shuffle(shuffled)
    for b, answer in zip(ballots, shuffled, strict=True):
        b.answers[twin] = dict(answer)
    result = compute_ranking(units, seats, ballots, [], rule, ["乙", "甲"]).to_json("m", "monthly")
    report, _ = analyse(units, seats, ballots, result, rule, 1, "test", b=1000)
    assert result["bottom"][0] == "LOW" and set(result["bottom"][1:]) == {second, twin}
    assert report["bottom_confidence"]["LOW"] == "confirmed"
    assert report["units"]["LOW"]["p_bottom"] >= 0.99
    assert report["bottom_evidence"]["LOW"]["below_median"] is True
    for code in (second, twin):
        assert report["bottom_confidence"][code] == "tied", report["bottom_evidence"][code]
        assert len(report["tied_with"][code]) >= 3
        assert not {"LOW", second, twin} & set(report["tied_with"][code])
    # Persistence confirms it all the same: in the bottom list two of the last three months.
    again, _ = analyse(units, seats, ballots, result, rule, 1, "test", [[second], []], b=300)
    assert again["bottom_confidence"][second] == "confirmed"


def test_planted_careless_lenient_and_copied_ballots_are_flagged_and_few_others() -> None:
    rng = random.Random(9)
    true = {f"U{i:02d}": rng.uniform(0.45, 0.9) for i in range(40)}
    units, seats, ballots, _, rule = _round(true, 100, rng)
    every = {code: {"总体": Answer("满意", LABELS["满意"])} for code in true}
    ballots[10] = BallotInput(ballots[10].key, ballots[10].token, AT, every)  # straight line
    lenient = {c: {"总体": Answer(None, Fraction(min(100, round(q * 100) + 30)))}
               for c, q in true.items()}  # fmt: skip
    ballots[20] = BallotInput(ballots[20].key, ballots[20].token, AT, lenient)
    ballots[31] = BallotInput(ballots[31].key, ballots[31].token, AT, dict(ballots[30].answers))
    result = compute_ranking(units, seats, ballots, [], rule).to_json("2026-10", "monthly")
    report, flags = analyse(units, seats, ballots, result, rule, 3, "test", b=200)
    found = {(f["kind"], f["seat"], f["with"]) for f in flags}
    assert ("straight_line", 11, None) in found  # seats are 1-based positions here
    assert ("lenient", 21, None) in found
    assert ("near_duplicate", 31, 32) in found
    planted = {("straight_line", 11, None), ("lenient", 21, None), ("near_duplicate", 31, 32)}
    # A straight line of 满意 is also far more lenient than the panel: that one is expected.
    others = found - planted - {("lenient", 11, None)}
    assert len(others) <= 2, others
    assert report["quality_counts"]["ballots"] == 100
    assert report["quality_counts"]["near_duplicate"] == 1


def test_icc_2k_is_shrout_and_fleiss() -> None:
    """Shrout and Fleiss (1979), six targets by four judges: ICC(2,4) = 0.62 (by their mean
    squares: BMS 11.24, JMS 32.49, EMS 1.02, n 6 → (11.24 − 1.02)/(11.24 + (32.49 − 1.02)/6))."""
    table = np.array(
        [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
        dtype=float,
    )
    n, k = table.shape
    grand = table.mean()
    bms = k * ((table.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    jms = n * ((table.mean(axis=0) - grand) ** 2).sum() / (k - 1)
    resid = table - table.mean(axis=1, keepdims=True) - table.mean(axis=0, keepdims=True) + grand
    ems = (resid**2).sum() / ((n - 1) * (k - 1))
    by_hand = (bms - ems) / (bms + (jms - ems) / n)
    assert round(by_hand, 2) == 0.62
    assert icc2k(table.T) == pytest.approx(by_hand, abs=1e-9)  # icc2k takes evaluators × units
    gappy = table.T.copy()
    gappy[0, 0] = np.nan
    assert 0.4 < icc2k(gappy) < 0.8  # a gap (不了解) is allowed for
    assert icc2k(np.array([[1.0, 2.0]])) is None  # one evaluator: no agreement to measure


def _gappy_tables(min_units: int) -> st.SearchStrategy[list[list[float]]]:
    """Evaluators × units tables of the scale's points with gaps (NaN: no vote), 1–12 rows."""
    return st.integers(min_units, 12).flatmap(
        lambda units: st.lists(
            st.lists(st.sampled_from([30.0, 70.0, 100.0, np.nan]), min_size=units, max_size=units),
            min_size=1,
            max_size=12,
        )
    )


@settings(max_examples=200, deadline=None)
@given(_gappy_tables(min_units=2))
def test_leniency_is_each_evaluators_mean_offset_from_the_others(rows: list[list[float]]) -> None:
    """``leniency`` is written as matrix-vector products; here it is the definition, evaluator
    by evaluator: the mean over the units they voted on (with someone else) of their vote minus
    the others' mean of that unit. NaN exactly where there is no such unit."""
    votes = np.array(rows)
    got = leniency(votes)
    for i, row in enumerate(votes):
        offsets = []
        for j, mine in enumerate(row):
            others = [
                votes[e, j] for e in range(len(votes)) if e != i and not np.isnan(votes[e, j])
            ]
            if not np.isnan(mine) and others:
                offsets.append(mine - sum(others) / len(others))
        if offsets:
            assert got[i] == pytest.approx(sum(offsets) / len(offsets), abs=1e-9)
        else:
            assert np.isnan(got[i])


@settings(max_examples=200, deadline=None)
@given(_gappy_tables(min_units=1))
def test_adjusted_scores_are_the_mean_standardised_vote(rows: list[list[float]]) -> None:
    """``adjusted_scores`` is written with sums; here it is the definition: each evaluator with
    two votes or more and some spread standardised by their own mean and SD (ddof 0), the
    mean z per unit, put back on the scale by the usable evaluators' mean mean and mean SD."""
    votes = np.array(rows)
    got = adjusted_scores(votes)
    usable = []
    for row in votes:
        mine = row[~np.isnan(row)]
        if len(mine) >= 2 and mine.std() > 0:
            usable.append((row, mine.mean(), mine.std()))
    for j in range(votes.shape[1]):
        z = [(row[j] - mean) / sd for row, mean, sd in usable if not np.isnan(row[j])]
        if not z:
            assert np.isnan(got[j])
            continue
        back = np.mean([mean for _, mean, _ in usable]) + np.mean([sd for *_, sd in usable]) * (
            sum(z) / len(z)
        )
        assert got[j] == pytest.approx(back, abs=1e-9)
