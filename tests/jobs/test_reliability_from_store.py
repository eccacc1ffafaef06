"""The reliability report at province scale reads its votes from the store and computes in less
time and memory (docs/reliability.md, "At province scale"); none of that may change a number.

- The vote matrix built from the store's arrays, read in chunks of any size, is the in-memory
  one, value for value, on SQLite and PostgreSQL.
- Near-identical pairs, found in blocks among rows whose vote counts could qualify, are the
  pairs the whole 5,000 × 5,000 comparison finds (written out below as the oracle).
- Rank intervals from one sort are ``np.nanpercentile``'s "lower" and "higher".
- Resamples scored in chunks are scored as in one piece.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import numpy as np
import pytest

from jobs.ranking import load_round
from jobs.reliability import bootstrap
from jobs.reliability.bootstrap import interval, resample_counts, resample_scores
from jobs.reliability.quality import SAME_MIN, SAME_SHARE, near_duplicates
from jobs.reliability.votes import stored_vote_matrix, vote_matrix
from jobs.scoring import criteria_weights
from service.rules import Rules
from service.store.engine import make_engine, session_scope
from service.store.round_units import round_unit_codes
from service.store.vote_arrays import vote_arrays
from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import PaperRound


def _pairs_by_whole_table(votes: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The oracle: every pair compared at once, as the report did before it went by blocks."""
    present = ~np.isnan(votes)
    if len(votes) < 2:
        return []
    voted = present.astype(np.float32)
    either = voted.shape[1] - (1 - voted) @ (1 - voted).T
    same = np.zeros_like(either)
    for v in np.unique(votes[present]):
        m = (votes == v).astype(np.float32)
        same += m @ m.T
    i, j = np.nonzero(np.triu((either >= SAME_MIN) & (same >= SAME_SHARE * either), k=1))
    return [(int(a), int(b), int(same[a, b]), int(either[a, b])) for a, b in zip(i, j, strict=True)]


@pytest.mark.parametrize("seed", range(30))
def test_near_duplicates_by_blocks_are_those_of_the_whole_table(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, units = int(rng.integers(2, 300)), int(rng.integers(1, 90))
    p = [0.1, 0.2, 0.2, 0.5] if seed % 2 else [0.02, 0.02, 0.9, 0.06]
    votes = rng.choice([30.0, 70.0, 100.0, np.nan], size=(n, units), p=p)
    for _ in range(int(rng.integers(0, 25))):  # copies, some a little changed: near the cut
        a, b = rng.integers(0, n, 2)
        votes[b] = votes[a]
        for _ in range(int(rng.integers(0, 3))):
            votes[b, rng.integers(0, units)] = rng.choice([30.0, np.nan])
    found = near_duplicates(votes, block=int(rng.integers(1, 40)))
    assert found == _pairs_by_whole_table(votes)
    if seed == 0:
        assert found  # the planted copies are there to be found


def test_a_pair_exactly_at_the_share_is_found_by_blocks_too() -> None:
    """100 units each, 97 the same: 97 ≥ 0.97 × 100 is decided by float32 rounding, which the
    block computation must reproduce, not just come close to."""
    votes = np.full((2, 100), 70.0)
    votes[1, :3] = 30.0
    assert near_duplicates(votes) == _pairs_by_whole_table(votes)


@pytest.mark.parametrize("level", [0.9, 0.8, 0.5])
def test_intervals_from_one_sort_are_nanpercentiles(level: float) -> None:
    rng = np.random.default_rng(int(level * 10))
    for _ in range(50):
        b, units = int(rng.integers(1, 300)), int(rng.integers(1, 30))
        ranks = rng.integers(1, 40, size=(b, units)).astype(float)
        ranks[rng.random((b, units)) < rng.random()] = np.nan
        ranks[:, 0] = np.nan  # a unit never ranked
        tail = (1 - level) / 2 * 100
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo = np.nanpercentile(ranks, tail, axis=0, method="lower")
            hi = np.nanpercentile(ranks, 100 - tail, axis=0, method="higher")
        got_lo, got_hi = interval(ranks, level)
        assert np.array_equal(got_lo, lo, equal_nan=True)
        assert np.array_equal(got_hi, hi, equal_nan=True)


@pytest.mark.parametrize("weights", [None, {"甲": 2, "乙": 1}])
def test_resamples_scored_in_chunks_are_scored_as_in_one(
    weights: dict | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(5)
    votes = rng.choice([30.0, 70.0, 87.5, 100.0, np.nan], size=(60, 40))
    groups = (np.arange(60) % 2).astype(np.int32)
    rules = Rules(min_votes=3, group_weights=weights)
    counts = resample_counts(groups, 97, np.random.default_rng(1))
    whole = resample_scores(votes, groups, counts, rules, ["乙", "甲"])
    monkeypatch.setattr(bootstrap, "_CELLS", 40 * 4 * 7)  # chunks of 7 resamples
    chunked = resample_scores(votes, groups, counts, rules, ["乙", "甲"])
    assert np.array_equal(whole.score, chunked.score, equal_nan=True)
    assert np.array_equal(whole.votes, chunked.votes)


@pytest.mark.parametrize("criteria", [False, True])
def test_the_stored_vote_matrix_is_the_in_memory_one(
    criteria: bool, migrated_db_url: str, tmp_path: Path
) -> None:
    rng = random.Random(7)
    units = {f"U{i}": "法院" if i % 2 else "公安局" for i in range(12)}
    members = {f"P{i:02d}": ("人大代表" if i % 3 else "政协委员") for i in range(1, 16)}
    members["P03"] = ("政协委员", "U1;U4")  # recused from two units
    rules: dict = {"min_votes": 3, "min_coverage": "0.5"}
    if criteria:
        rules["criteria"] = [{"name": "作风", "weight": 3}, {"name": "效能", "weight": 2}]
    answers = ["满意", "基本满意", "不满意", "不了解", 87.5, 61.25, 99.5]

    def one() -> object:
        if not criteria:
            return rng.choice(answers)
        return {c: rng.choice(answers) for c in ("作风", "效能") if rng.random() < 0.8} or {
            "作风": "不了解"
        }

    ev = Evaluation(migrated_db_url, tmp_path, units, members, rules=rules)
    made = [ev.ballot(m, {u: one() for u in units if rng.random() < 0.85}) for m in members]
    made.append(ev.ballot("P05", {"U0": one()}, rid="r-P05-thin", at="2026-10-30T09:00:00+08:00"))
    ev.ingest(made)
    ev.cli("rank", ev.round, "--json", "--without-reliability")
    config = PaperRound.rules_of(rules)
    engine = make_engine(migrated_db_url)
    try:
        with session_scope(engine) as session:
            data = load_round(session, ev.round)
            order = {token: n for n, (_, token) in enumerate(sorted(ev.tokens.items()))}
            seats = sorted(data.seats, key=lambda s: order[s.token])  # seat ids follow pool ids
            memory = vote_matrix(data.units, seats, data.ballots, config)
            codes = round_unit_codes(session, ev.round)
            for chunk in (1, 3, 10_000):
                arrays = vote_arrays(session, ev.round, codes, list(criteria_weights(config)),
                                     chunk=chunk)  # fmt: skip
                stored = stored_vote_matrix(arrays, codes, config)
                assert np.array_equal(stored.votes, memory.votes, equal_nan=True)
                assert np.array_equal(stored.labels, memory.labels)
                assert np.array_equal(stored.groups, memory.groups)
                assert stored.group_names == memory.group_names
                assert len(set(stored.seats.tolist())) == len(stored.seats) == len(memory.seats)
    finally:
        engine.dispose()
    assert np.isnan(memory.votes).any() and (memory.labels >= 0).any()
