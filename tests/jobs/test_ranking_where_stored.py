"""The ranking done by the database (grouped counts, ``jobs.ranking.rank_where_stored``) equals
the ranking on paper (``jobs.scoring.compute_ranking`` on ballots in memory) to the cent, on
random rounds with recusals, 不了解, numbers with decimals, re-submissions, too-thin ballots,
vetoes, ties, trimming and group weights — on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import PaperRound

REPORTED = ("bottom_confidence", "tied_with", "icc", "bootstrap")


def _official(ranking: dict) -> dict:
    units = [{k: v for k, v in u.items() if k != "uncertainty"} for u in ranking["units"]]
    return {**{k: v for k, v in ranking.items() if k not in REPORTED}, "units": units}


def _random_round(seed: int):
    rng = random.Random(seed)
    units = {f"U{i}": rng.choice(["法院", "公安局", "司法局"]) for i in range(8)}
    members: dict = {}
    for i in range(1, 19):
        group = rng.choice(["人大代表", "政协委员"])
        if rng.random() < 0.2:
            members[f"P{i}"] = (group, ";".join(rng.sample(list(units), 2)))
        else:
            members[f"P{i}"] = group
    rules = {"min_votes": rng.choice([3, 5]), "trim_min_n": rng.choice([5, 7]), "top": 3,
             "bottom": 2, "min_coverage": "0.5"}  # fmt: skip
    if rng.random() < 0.5:
        rules["group_weights"] = {"人大代表": rng.choice([1, 2]), "政协委员": 1}
    answers = ["满意", "基本满意", "不满意", "不了解", 87.5, 60, 99.5, "满意", "满意"]
    ballots = []
    for member in members:
        if rng.random() < 0.1:
            continue  # never answered
        share = rng.choice([0.3, 0.8, 1.0])
        chosen = {u: rng.choice(answers) for u in units if rng.random() < share}
        ballots.append((member, chosen, None))
        if rng.random() < 0.15:  # a later re-submission
            again = {u: rng.choice(answers) for u in units}
            ballots.append((member, again, "2026-10-29T10:00:00+08:00"))
    vetoes = rng.sample(list(units), rng.choice([0, 1]))
    return units, members, rules, ballots, vetoes


@pytest.mark.parametrize("seed", range(6))
def test_the_database_ranks_as_the_rules_on_paper(
    seed: int, migrated_db_url: str, tmp_path: Path
) -> None:
    units, members, rules, ballots, vetoes = _random_round(seed)
    results = []
    for ev in (
        Evaluation(migrated_db_url, tmp_path, units, members, rules=rules),
        PaperRound(units, members, rules=rules),
    ):
        made = [
            ev.ballot(m, a, rid=f"r-{m}-{n}", **({"at": at} if at else {}))
            for n, (m, a, at) in enumerate(ballots)
        ]
        ev.ingest(made)
        for unit in vetoes:
            ev.veto(unit)
        results.append(_official(ev.rank()))
    stored, paper = results
    assert stored == paper
