"""Publishing reads the votes where they are stored (docs/scale.md, "The circular of a province
round"): the circular's evidence from grouped counts and the reliability report from integer
arrays (``service.store.vote_arrays``). Both must equal what the in-memory reading of every
ballot gives (the oracle below, written from ``jobs.ranking.load_round`` and the scoring
helpers, as the evidence and the report were made before), on random rounds with recusals,
不了解, numbers with decimals, several weighted criteria, re-submissions, thin ballots, vetoes,
group weights (withheld too), straight-liners and copied ballots — on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from jobs.circulars.evidence import MIN_GROUP_BALLOTS, NUMERIC, evidence_of, points_text
from jobs.ranking import load_round
from jobs.reliability.analysis import analyse
from jobs.reliability.report import previous_bottoms, reliability_of, seed_of
from jobs.scoring import answered_criteria, combined_vote, criteria_weights, settle_ballots
from service.models.rounds import Seat, SeatHolder
from service.rules import Rules, parse_rules
from service.store.engine import make_engine, session_scope
from service.store.results import latest_snapshot
from service.store.rounds import get_round
from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import PaperRound

CRITERIA = [{"name": "作风", "weight": 2}, {"name": "效能", "weight": 1}]
B = 250  # resamples: enough for the report to have something to say, quick enough for a test


def _random_round(seed: int) -> tuple[dict, dict, dict, list, list]:
    rng = random.Random(seed)
    units = {f"U{i:02d}": rng.choice(["法院", "公安局", "司法局"]) for i in range(24)}
    groups = ["人大代表", "政协委员", "乡村干部"]
    members: dict[str, Any] = {}
    for i in range(1, 27):
        group = rng.choice(groups)
        if i > 6 and rng.random() < 0.2:  # P05 and P06 (the copy) without: see below
            members[f"P{i:02d}"] = (group, ";".join(rng.sample(list(units), 3)))
        else:
            members[f"P{i:02d}"] = group
    rules: dict[str, Any] = {"min_votes": rng.choice([3, 5]), "trim_min_n": rng.choice([5, 7]),
                             "top": 3, "bottom": 3, "min_coverage": "0.5"}  # fmt: skip
    if rng.random() < 0.5:
        rules["group_weights"] = {g: rng.choice([1, 2]) for g in groups}
    several = rng.random() < 0.35
    if several:
        rules["criteria"] = CRITERIA
    plain = ["满意", "基本满意", "不满意", "不了解", 87.5, 60, 99.5, 33.25, "满意", "满意"]
    lean = [rng.uniform(-0.2, 0.2) for _ in members]

    def answer(k: int) -> Any:
        if rng.random() < 0.5:  # leaning: a member's own habit, so lenient/severe can show
            return round(max(0, min(100, 70 + 100 * lean[k] + rng.gauss(0, 12))), 1)
        return rng.choice(plain)

    def one(k: int) -> Any:
        if not several:
            return answer(k)
        chosen = {c["name"]: answer(k) for c in CRITERIA if rng.random() < 0.8}
        return chosen or {"作风": "不了解"}

    ballots: list[tuple[str, dict, str | None]] = []
    names = list(members)
    for k, member in enumerate(names):
        if k > 5 and rng.random() < 0.08:
            continue  # never answered
        if k == 1:  # a straight-liner
            same = {"作风": "满意"} if several else "满意"
            ballots.append((member, dict.fromkeys(units, same), None))
            continue
        share = 1.0 if k == 4 else rng.choice([0.3, 0.9, 1.0, 1.0])
        chosen = {u: one(k) for u in units if rng.random() < share}
        ballots.append((member, chosen, None))
        if k == 4:  # a copied ballot: the next member sends the same answers, later
            ballots.append((names[5], dict(chosen), "2026-10-29T11:00:00+08:00"))
        if rng.random() < 0.12:  # a later re-submission
            ballots.append((member, {u: one(k) for u in units}, "2026-10-29T10:00:00+08:00"))
    vetoes = rng.sample(list(units), rng.choice([0, 1]))
    return units, members, rules, ballots, vetoes


def _old_evidence_units(session, round_id: str, rules: Rules) -> tuple[dict, Counter]:
    """The oracle: every unit's votes by group and label counts from the ballots in memory."""
    data = load_round(session, round_id)
    valid, _ = settle_ballots(data.seats, data.ballots, [u.code for u in data.units], rules)
    weights = criteria_weights(rules)
    seats = {s.token: s for s in data.seats}
    votes: dict[str, dict[str, Counter]] = {u.code: {} for u in data.units}
    labels: dict[str, Counter] = {u.code: Counter() for u in data.units}
    for token, ballot in valid.items():
        seat = seats[token]
        for unit, crits in ballot.answers.items():
            if unit not in votes or unit in seat.recusals:
                continue
            answered = answered_criteria(crits, weights)
            if not answered:
                continue
            votes[unit].setdefault(seat.group, Counter())[combined_vote(answered)] += 1
            for _, a in answered:
                labels[unit][NUMERIC if a.label is None else a.label] += 1
    return {"votes": votes, "labels": labels}, Counter(seats[t].group for t in valid)


def _expected_evidence_units(session, round_id: str, rules: Rules) -> dict[str, Any]:
    old, per_group = _old_evidence_units(session, round_id, rules)
    pooled = not rules.group_weights or any(n < MIN_GROUP_BALLOTS for n in per_group.values())

    def hist(counts: Counter) -> dict[str, int]:
        return {points_text(v): counts[v] for v in sorted(counts, reverse=True)}

    out = {}
    for code in sorted(old["votes"]):
        labels = {label: old["labels"][code][label] for label in rules.scale}
        labels[NUMERIC] = old["labels"][code][NUMERIC]
        groups = old["votes"][code]
        if pooled:
            out[code] = {"histogram": hist(sum(groups.values(), Counter())), "labels": labels}
        else:
            out[code] = {"histograms": {g: hist(c) for g, c in sorted(groups.items())},
                         "labels": labels}  # fmt: skip
    return out


def _old_report(session, snapshot, rules: Rules) -> tuple[dict, list[dict]]:
    """The oracle: the report from ballots in memory, seats in seat-id order, flags by seat id."""
    rnd = get_round(session, snapshot.round_id)
    data = load_round(session, rnd.id)
    number = {
        token: (seat_id, member)
        for seat_id, token, member in session.execute(
            select(Seat.id, Seat.token, SeatHolder.member_id)
            .join(SeatHolder, SeatHolder.seat_id == Seat.id, isouter=True)
            .where(Seat.round_id == rnd.id)
        )
    }
    seats = sorted(data.seats, key=lambda s: number[s.token][0])
    seed, what = seed_of(session, rnd.id)
    report, flags = analyse(data.units, seats, data.ballots, snapshot.result, rules, seed, what,
                            previous_bottoms(session, rnd), B)  # fmt: skip
    for flag in flags:
        for key in ("seat", "with"):
            if flag[key] is not None:
                seat_id, member = number[seats[flag[key] - 1].token]
                flag[key] = seat_id
                if key == "seat":
                    flag["evaluator"] = member
    return report, flags


@pytest.mark.parametrize("seed", range(5))
def test_evidence_and_report_from_the_store_equal_the_in_memory_reading(
    seed: int, migrated_db_url: str, tmp_path: Path
) -> None:
    units, members, rules, ballots, vetoes = _random_round(seed)
    ev = Evaluation(migrated_db_url, tmp_path, units, members, rules=rules)
    ev.ingest([ev.ballot(m, a, rid=f"r-{m}-{n}", **({"at": at} if at else {}))
               for n, (m, a, at) in enumerate(ballots)])  # fmt: skip
    for unit in vetoes:
        ev.veto(unit)
    ev.cli("rank", ev.round, "--json", "--without-reliability")
    config_rules = PaperRound.rules_of(rules)
    engine = make_engine(migrated_db_url)
    try:
        with session_scope(engine) as session:
            snapshot = latest_snapshot(session, ev.round)
            snapshot_rules = parse_rules(snapshot.rules, "snapshot")
            expected_units = _expected_evidence_units(session, ev.round, snapshot_rules)
            old_report, old_flags = _old_report(session, snapshot, config_rules)
            evidence = evidence_of(session, get_round(session, ev.round), snapshot)
            stored = reliability_of(session, snapshot, config_rules, b=B)
            new_report, new_flags = stored.report, stored.flags
    finally:
        engine.dispose()
    assert evidence["units"] == expected_units
    assert new_report == old_report
    assert new_flags == old_flags
    kinds = {f["kind"] for f in new_flags}
    assert {"straight_line", "near_duplicate"} <= kinds, kinds  # the planted ones, at least


def test_the_random_rounds_reach_every_branch() -> None:
    """The comparison above would prove little on rounds without the hard cases."""
    seen: Counter = Counter()
    for seed in range(5):
        _, members, rules, ballots, vetoes = _random_round(seed)
        seen["several criteria"] += "criteria" in rules
        seen["group weights"] += "group_weights" in rules
        seen["recusals"] += any(not isinstance(m, str) for m in members.values())
        seen["vetoes"] += bool(vetoes)
        seen["re-submissions"] += any(at is not None for _, _, at in ballots)
    assert all(seen[k] for k in ("several criteria", "group weights", "recusals", "vetoes",
                                 "re-submissions")), seen  # fmt: skip
