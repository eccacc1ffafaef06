"""Properties of the pure scoring function (docs/rules.md) over generated rounds.

The rounds and the oracle are in ``tests/jobs/scoring_cases.py``. The generator makes ties on
purpose (twins and near twins), and ``test_the_generator_makes_the_ties_it_probes`` counts that
it does: random answers alone would leave the tie rules untested.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from hypothesis import event, given
from hypothesis import strategies as st

from jobs.scoring import compute_ranking
from tests.jobs.scoring_cases import (
    SETTINGS,
    SYSTEMS,
    Case,
    cases,
    expected_score,
    half_up,
    oracle,
    rank,
    sort_key,
    tie_kinds,
)

_COUNT_TIES = """
import json, sys
from collections import Counter
from hypothesis import given, seed, settings
from tests.jobs.scoring_cases import SETTINGS, cases, rank, tie_kinds

seen = Counter()

@seed(0)
@settings(SETTINGS, max_examples=200, database=None, derandomize=False)
@given(case=cases(distinct_times=True))
def count(case):
    seen["rounds"] += 1
    seen.update(tie_kinds(case, rank(case)))

count()
json.dump(seen, sys.stdout)
"""


def test_the_generator_makes_the_ties_it_probes() -> None:
    """Random answers hardly make ties (before the generator was steered, none of 300 rounds
    had two units equal at two decimals with different exact scores); count them.

    One fixed sample (seed 0), drawn in a fresh interpreter: inside a long test process the same
    seed once drew a different sample (1 unit order against the exact scores in 200 rounds,
    where seeds 0-7 give 9-26 in a fresh one)."""
    out = subprocess.run(
        [sys.executable, "-c", _COUNT_TIES],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    seen = Counter(json.loads(out))
    share = {kind: n / seen["rounds"] for kind, n in seen.items()}
    # Floors well under what other seeds give (about 5-13 %, 12-22 % and 4-8 %), leaving room
    # for another hypothesis version.
    assert share.get("order against the exact scores", 0) >= 0.03, seen
    assert share.get("equal published, different exact scores", 0) >= 0.03, seen
    assert share.get("shared rank", 0) >= 0.08, seen
    assert share.get("tie at the top cut-off", 0) >= 0.02, seen
    assert share.get("tie at the bottom cut-off", 0) >= 0.02, seen


# --- invariances ----------------------------------------------------------------------------


@SETTINGS
@given(case=cases(), seed=st.integers(0, 2**32 - 1))
def test_shuffling_ballots_and_seats_changes_nothing(case: Case, seed: int) -> None:
    rng = random.Random(seed)
    ballots, seats = list(case.ballots), list(case.seats)
    rng.shuffle(ballots)
    rng.shuffle(seats)
    before, after = rank(case), rank(case, ballots, seats)
    assert after.to_json("r", "monthly") == before.to_json("r", "monthly")
    assert after.ballot_status == before.ballot_status


@SETTINGS
@given(case=cases(), seed=st.integers(0, 2**32 - 1))
def test_renaming_tokens_consistently_changes_nothing(case: Case, seed: int) -> None:
    rng = random.Random(seed)
    new_names = [f"x-{rng.getrandbits(64):016x}-{i}" for i in range(len(case.seats))]
    rng.shuffle(new_names)
    rename = {s.token: new_names[i] for i, s in enumerate(case.seats)}
    seats = [replace(s, token=rename[s.token]) for s in case.seats]
    ballots = [replace(b, token=rename[b.token]) for b in case.ballots]
    before, after = rank(case), rank(case, ballots, seats)
    assert after.to_json("r", "monthly") == before.to_json("r", "monthly")
    assert after.ballot_status == before.ballot_status


@SETTINGS
@given(case=cases(distinct_times=True), seed=st.integers(0, 2**32 - 1))
def test_renaming_ballot_keys_changes_nothing_when_times_are_distinct(
    case: Case, seed: int
) -> None:
    rng = random.Random(seed)
    new_keys = [f"k{i}" for i in range(len(case.ballots))]
    rng.shuffle(new_keys)  # a different order of keys than of ballots
    rename = {b.key: new_keys[i] for i, b in enumerate(case.ballots)}
    ballots = [replace(b, key=rename[b.key]) for b in case.ballots]
    before, after = rank(case), rank(case, ballots)
    assert after.to_json("r", "monthly") == before.to_json("r", "monthly")
    assert after.ballot_status == {rename[k]: s for k, s in before.ballot_status.items()}


# --- the numbers against the oracle ----------------------------------------------------------


@SETTINGS
@given(case=cases(distinct_times=True))
def test_scores_votes_and_status_match_the_spec_oracle(case: Case) -> None:
    expected, n_ballots, n_valid = oracle(case)
    ranking = rank(case)
    assert (ranking.seats, ranking.ballots, ranking.valid_ballots) == (
        len(case.seats),
        n_ballots,
        n_valid,
    )
    assert ranking.valid is (3 * n_valid >= 2 * len(case.seats))
    for u in ranking.units:
        exp = expected[u.code]
        assert u.votes == len(exp.votes)
        exact = expected_score(exp.votes, case.rules)
        if exact is None:
            assert u.score is None
        else:
            assert u.score == half_up(exact)
            assert u.score.as_tuple().exponent == -2  # published with two decimals
        if u.code in case.vetoes:
            assert u.status == "vetoed"
        elif len(exp.votes) >= case.rules.min_votes and exp.votes:
            assert u.status == "ranked"
        else:
            assert u.status == "insufficient"
            assert (u.rank_overall, u.rank_in_system) == (None, None)


@SETTINGS
@given(case=cases(distinct_times=True))
def test_ranks_are_competition_ranks_of_the_spec_sort_key(case: Case) -> None:
    expected, _, _ = oracle(case)
    ranking = rank(case)
    placed = [
        u for u in ranking.units if u.status == "ranked" or (u.status == "vetoed" and u.votes)
    ]
    keys = {u.code: sort_key(u, expected[u.code], u.status == "vetoed") for u in placed}
    for kind in tie_kinds(case, ranking):
        event(kind)
    for u in placed:
        # competition rank = 1 + number of units strictly ahead
        assert u.rank_overall == 1 + sum(keys[v.code] < keys[u.code] for v in placed)
        same = [v for v in placed if v.system == u.system]
        assert u.rank_in_system == 1 + sum(keys[v.code] < keys[u.code] for v in same)
    # the units list is in overall order
    ranks = [u.rank_overall for u in ranking.units if u.rank_overall is not None]
    assert ranks == sorted(ranks)


@SETTINGS
@given(case=cases(distinct_times=True))
def test_equal_published_scores_are_told_apart_only_by_the_tie_breaks(case: Case) -> None:
    # docs/rules.md, Decisions: ties are judged on the published two-decimal score, so two
    # units that print the same score are ordered by the shares, the untrimmed mean and the
    # votes (never by hidden decimals), and share a rank when those are equal too.
    expected, _, _ = oracle(case)
    ranking = rank(case)
    placed = [u for u in ranking.units if u.rank_overall is not None]
    for i, u in enumerate(placed):
        for v in placed[i + 1 :]:
            if u.score is None or u.score != v.score:
                continue
            if (u.status == "vetoed") != (v.status == "vetoed"):
                continue
            ku = sort_key(u, expected[u.code], False)[2:]
            kv = sort_key(v, expected[v.code], False)[2:]
            if ku == kv:
                assert u.rank_overall == v.rank_overall
            else:
                assert (u.rank_overall < v.rank_overall) == (ku < kv)
            if u.exact_score != v.exact_score:
                event("equal published, different exact scores")


@SETTINGS
@given(case=cases())
def test_top_and_bottom_lists_follow_the_cutoff_rules(case: Case) -> None:
    ranking = rank(case)
    for kind in tie_kinds(case, ranking) & {"tie at the top cut-off", "tie at the bottom cut-off"}:
        event(kind)
    units = {u.code: u for u in ranking.units}
    ranked = [u for u in ranking.units if u.rank_overall is not None]
    eligible = [u for u in ranked if u.status == "ranked"]

    # top: never vetoed, at least min(top, eligible), in rank order, ties at the cut taken in
    assert not set(ranking.top) & set(case.vetoes)
    assert all(units[c].status == "ranked" for c in ranking.top)
    assert len(ranking.top) >= min(case.rules.top, len(eligible))
    top_ranks = [units[c].rank_overall for c in ranking.top]
    assert top_ranks == sorted(top_ranks)
    for u in eligible:
        if u.code not in ranking.top:
            assert all(u.rank_overall > r for r in top_ranks)
    if len(ranking.top) > case.rules.top:  # only a tie at the cut can overflow
        assert top_ranks.count(top_ranks[-1]) > 1

    # bottom: ranked units only, ≥ min(bottom, ranked), worst first, ties at the cut taken in
    assert all(units[c].rank_overall is not None for c in ranking.bottom)
    assert len(ranking.bottom) >= min(case.rules.bottom, len(ranked))
    bottom_ranks = [units[c].rank_overall for c in ranking.bottom]
    assert bottom_ranks == sorted(bottom_ranks, reverse=True)
    for u in ranked:
        if u.code not in ranking.bottom:
            assert all(u.rank_overall < r for r in bottom_ranks)
    if len(ranking.bottom) > case.rules.bottom:
        assert bottom_ranks.count(bottom_ranks[-1]) > 1

    # vetoed units come after every non-vetoed ranked unit and open the bottom list
    vetoed_ranks = [u.rank_overall for u in ranked if u.status == "vetoed"]
    others = [u.rank_overall for u in eligible]
    if vetoed_ranks and others:
        assert min(vetoed_ranks) > max(others)
    n_vetoed = len(vetoed_ranks)
    if case.rules.bottom >= n_vetoed:
        assert {units[c].status for c in ranking.bottom[:n_vetoed]} <= {"vetoed"}
    assert set(ranking.vetoed) == set(case.vetoes)
    listed = [units[c].rank_overall for c in ranking.vetoed]
    assert listed == sorted(listed)


@SETTINGS
@given(case=cases())
def test_zscore_mode_keeps_scores_and_ranks_within_systems(case: Case) -> None:
    # cross_system only changes the overall comparison (docs/rules.md); published scores, statuses and
    # ranks within each system are the raw ones, and vetoed units still come last overall.
    raw = rank(case)
    z = compute_ranking(
        case.units,
        case.seats,
        case.ballots,
        case.vetoes,
        replace(case.rules, cross_system="zscore"),
        SYSTEMS,
    )
    raw_units = {u.code: u for u in raw.units}
    for u in z.units:
        r = raw_units[u.code]
        assert (u.score, u.votes, u.status, u.rank_in_system) == (
            r.score,
            r.votes,
            r.status,
            r.rank_in_system,
        )
        assert (u.rank_overall is None) == (r.rank_overall is None)
    vetoed = [u.rank_overall for u in z.units if u.status == "vetoed" and u.rank_overall]
    others = [u.rank_overall for u in z.units if u.status == "ranked"]
    if vetoed and others:
        assert min(vetoed) > max(others)
    assert not set(z.top) & set(case.vetoes)
