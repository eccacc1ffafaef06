"""Ranking job: load a round from the store, score it, settle ballots, store a snapshot.

Loading is a handful of set-wise reads of the store (no per-ballot round trips), which is what
keeps a 100 × 98 round well under the 0.3 s bar.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from itertools import groupby
from operator import itemgetter

from sqlalchemy.orm import Session

from jobs.ranks import VETOED, bottom_list, order_key, overall_order, top_list
from jobs.scoring import (
    ACCEPTED,
    SUPERSEDED,
    Answer,
    BallotInput,
    Ranking,
    SeatInfo,
    UnitInfo,
    compute_ranking,
    criteria_weights,
    settle,
)
from jobs.summary import PartScore, Summary, compute_summary
from jobs.tallies import Tally, UnitScore, reduce_tally, scored_results
from service.models.results import RankingSnapshot
from service.models.rounds import Round
from service.rules import Rules, check_group_weights
from service.store.aggregates import coverage, recused_votes, vote_counts
from service.store.audit import canonical_json, sha256_text
from service.store.ballots import counted_ballots, counted_votes, set_statuses
from service.store.engine import StoreError, as_utc
from service.store.results import latest_snapshot, save_snapshot
from service.store.round_units import ballots_received, round_systems, round_units
from service.store.rounds import active_seats, get_round, lock_round, vetoed_units

logger = logging.getLogger(__name__)


@dataclass
class RoundData:
    """Everything scoring needs, as plain data; ``ballot_ids`` maps ballot keys back to rows."""

    units: list[UnitInfo]
    systems: list[str]
    seats: list[SeatInfo]
    ballots: list[BallotInput]
    vetoes: list[str]
    raw_hashes: dict[str, str]
    ballot_ids: dict[str, int]


def ballot_key(source: str, response_id: str, version: int) -> str:
    """A ballot's key for scoring. It orders equal submission times by source and response id
    (never by arrival), then by version, so a response's later edit wins over its earlier
    content; ranking and settling must build it the same way."""
    return f"{source}\x1f{response_id}\x1f{version:09d}"


def load_seats(session: Session, round_id: str) -> list[SeatInfo]:
    """The round's active seats with their group and recusals (from the holders' conflicts)."""
    return [
        SeatInfo(token, group, recusals)
        for token, group, recusals in active_seats(session, round_id)
    ]


def load_round(session: Session, round_id: str) -> RoundData:
    """Read the round's own units, seats (with recusals), non-rejected ballots with votes, and vetoes."""
    get_round(session, round_id)
    systems = round_systems(session, round_id)
    units = [UnitInfo(code, name, system) for code, name, system in round_units(session, round_id)]
    seats = load_seats(session, round_id)
    answers: dict[int, dict[str, dict[str, Answer]]] = {}
    points_cache: dict[str | None, Fraction | None] = {None: None}  # few distinct values
    for ballot_id, unit, criterion, label, points in counted_votes(session, round_id):
        if points not in points_cache:
            points_cache[points] = Fraction(points)
        answers.setdefault(ballot_id, {}).setdefault(unit, {})[criterion] = Answer(
            label, points_cache[points]
        )
    ballots, raw_hashes, ids = [], {}, {}
    for bid, source, response_id, version, token, submitted_at, digest in counted_ballots(
        session, round_id
    ):
        key = ballot_key(source, response_id, version)
        ballots.append(BallotInput(key, token, as_utc(submitted_at), answers.get(bid, {})))
        raw_hashes[key] = digest
        ids[key] = bid
    vetoes = vetoed_units(session, round_id)
    return RoundData(units, systems, seats, ballots, vetoes, raw_hashes, ids)


@dataclass(frozen=True)
class StoredBallot:
    """A ballot as settling sees it, without its votes (they stay in the database)."""

    id: int
    key: str
    token: str
    submitted_at: datetime


def rank_where_stored(session: Session, round_id: str, rules: Rules) -> tuple[RoundData, Ranking]:
    """The monthly ranking as grouped counts done by the database (docs/scale.md): settle each
    seat's ballot from per-ballot coverage counts, store the statuses, then count each unit's
    votes per value (and group) and labels over the accepted ballots, and score from those
    histograms — the same rules, the same exact numbers as ``compute_ranking`` on ballots in
    memory, with no per-vote Python object. Only the single-criterion rules qualify (with
    several, a vote is a weighted mean made per ballot)."""
    get_round(session, round_id)
    systems = round_systems(session, round_id)
    units = [UnitInfo(code, name, system) for code, name, system in round_units(session, round_id)]
    seats = load_seats(session, round_id)
    check_group_weights(rules, (s.group for s in seats))
    recused = recused_votes(session, round_id)
    covered = coverage(session, round_id, recused)
    stored, raw_hashes, ids = [], {}, {}
    for bid, source, response_id, version, token, submitted_at, digest in counted_ballots(
        session, round_id
    ):
        key = ballot_key(source, response_id, version)
        stored.append(StoredBallot(bid, key, token, as_utc(submitted_at)))
        raw_hashes[key] = digest
        ids[key] = bid
    active = frozenset(u.code for u in units)
    valid, status = settle(seats, stored, active, rules, lambda b, _asked: covered.get(b.id, 0))
    set_statuses(session, round_id, {ids[k]: v for k, v in status.items()})
    accepted = {ids[k] for k, v in status.items() if v == ACCEPTED}
    vetoes = vetoed_units(session, round_id)
    scores = stored_scores(session, round_id, rules, accepted, recused)
    results = scored_results(units, scores, vetoes, rules)
    ranking = Ranking(
        seats=len(seats),
        ballots=sum(1 for s in status.values() if s != SUPERSEDED),
        valid_ballots=len(valid),
        valid=bool(seats)
        and len(valid) * rules.quorum.denominator >= rules.quorum.numerator * len(seats),
        units=overall_order(results, systems),
        top=top_list(results, rules),
        bottom=bottom_list(results, rules),
        vetoed=[u.code for u in sorted(results, key=order_key) if u.status == VETOED],
        ballot_status=status,
    )
    return RoundData(units, systems, seats, [], vetoes, raw_hashes, ids), ranking


def stored_scores(
    session: Session, round_id: str, rules: Rules, accepted: Set[int], recused: Iterable[tuple]
) -> dict[str, UnitScore]:
    """Each voted unit's reduced tally, from the database's grouped counts read in unit order:
    one unit's histogram is built, its recused votes taken off, and it is reduced to a
    ``UnitScore`` before the next unit's rows are read (docs/scale.md). So what is alive at once
    is one histogram, one fetch of rows and a small result per unit, however many units and
    ballots the round has."""
    [criterion] = criteria_weights(rules)
    by_group = bool(rules.group_weights)
    off: dict[str, list[tuple[str | None, str | None, str]]] = {}
    for ballot_id, _, unit, crit, group, label, points in recused:
        if ballot_id in accepted and crit == criterion and points is not None:
            off.setdefault(unit, []).append((group, label, points))
    values: dict[str, Fraction] = {}  # the few distinct points texts, parsed once

    def count(tally: Tally, group: str | None, label: str | None, points: str, n: int) -> None:
        value = values.get(points)
        if value is None:
            value = values[points] = Fraction(points)
        tally.votes[(group or "") if by_group else "", value] += n
        tally.answers += n
        tally.satisfied += n if label == rules.satisfied_label else 0
        tally.dissatisfied += n if label == rules.dissatisfied_label else 0

    scores: dict[str, UnitScore] = {}
    for unit, rows in groupby(
        vote_counts(session, round_id, criterion, by_group), key=itemgetter(0)
    ):
        tally = Tally()
        for _, group, label, points, n in rows:
            count(tally, group, label, points, n)
        for group, label, points in off.pop(unit, ()):
            count(tally, group, label, points, -1)
        if tally.n:
            scores[unit] = reduce_tally(tally, rules)
    return scores


def inputs_digest(data: RoundData, rules: Rules) -> str:
    """SHA-256 over everything the ranking depends on (token values are hashed, never shown)."""
    return sha256_text(
        canonical_json(
            {
                "rules": rules.as_dict(),
                "units": [[u.code, u.system] for u in data.units],
                "seats": sorted(
                    [sha256_text(s.token), s.group, sorted(s.recusals)] for s in data.seats
                ),
                "ballots": sorted(data.raw_hashes.values()),
                "vetoes": sorted(data.vetoes),
            }
        )
    )


class NothingToRank(StoreError):
    """The round has no ballot at all: a ranking of it would only say that nobody answered."""


class ConstituentOpen(StoreError):
    """A summary round's constituent is still open: its numbers could change under the summary."""


def rank_round(
    session: Session, round_id: str, rules: Rules, actor: str = "cli", force: bool = False
) -> tuple[Ranking, RankingSnapshot]:
    """Score the round, settle its ballots, and store the ranking as a snapshot.

    A round with no ballot at all is refused unless ``force``: its ranking, and the circular
    made from it, would publish "0 evaluators" as if that were a result — almost always a round
    whose source was never connected, not one nobody answered.

    A quarterly or half-year round is ranked from its constituents and its leaders' ballots
    (``rank_summary`` below, the rule in ``jobs.summary``); it may have no ballots (then Q = M), and a constituent still open
    is refused unless ``force``. The Ranking returned is then the leaders' (participation).
    """
    rnd = get_round(session, round_id)
    # Settling writes every ballot's status from what it reads: one settling of a round at a
    # time (``service.store.rounds.lock_round``), and the ballots read after the lock.
    lock_round(session, round_id)
    if rnd.kind != "monthly":
        summary, snapshot = rank_summary(session, rnd, rules, actor, force)
        logger.info("ranked summary round %s over %s", round_id, ", ".join(rnd.parts))
        return summary.leaders, snapshot
    if not force and not ballots_received(session, round_id):
        raise NothingToRank(
            f"round {round_id!r} has no ballots at all, so there is nothing to rank (check its "
            "sources: pingyi source list); --force ranks it anyway, as a round nobody answered"
        )
    if len(criteria_weights(rules)) == 1:
        data, ranking = rank_where_stored(session, round_id, rules)
    else:  # a vote is a weighted mean of criteria: computed per ballot, in memory
        data = load_round(session, round_id)
        ranking = compute_ranking(
            data.units, data.seats, data.ballots, data.vetoes, rules, data.systems
        )
    set_statuses(
        session, round_id, {data.ballot_ids[k]: v for k, v in ranking.ballot_status.items()}
    )
    result = ranking.to_json(round_id, rnd.kind)
    snapshot = save_snapshot(
        session, round_id, rules.as_dict(), result, inputs_digest(data, rules), actor
    )
    logger.info(
        "ranked round %s: %d seats, %d ballots, %d valid, %d units",
        round_id,
        ranking.seats,
        ranking.ballots,
        ranking.valid_ballots,
        len(ranking.units),
    )
    return ranking, snapshot


# --- quarterly and half-year rounds (docs/rules.md, Summary rounds) ---


def constituent_scores(
    session: Session, rnd: Round, rules: Rules, actor: str, force: bool
) -> tuple[dict[str, dict[str, PartScore]], list[str]]:
    """Each constituent's published scores and vetoes, and the hashes of the snapshots used."""
    parts: dict[str, dict[str, PartScore]] = {}
    used = []
    for part_id in rnd.parts:
        part = get_round(session, part_id)
        if part.status != "closed" and not force:
            raise ConstituentOpen(
                f"round {rnd.id!r}: its constituent {part_id!r} is still open, so its numbers "
                "can still change (close it first, or --force)"
            )
        snapshot = latest_snapshot(session, part_id)
        if snapshot is None:
            _, snapshot = rank_round(session, part_id, rules, actor, force=force)
        vetoed = set(snapshot.result.get("vetoed") or ())
        parts[part_id] = {
            u["code"]: PartScore(
                None if u["score"] is None else Decimal(str(u["score"])), u["code"] in vetoed
            )
            for u in snapshot.result["units"]
        }
        used.append(snapshot.inputs_sha256 + ":" + sha256_text(canonical_json(snapshot.result)))
    return parts, used


def rank_summary(
    session: Session, rnd: Round, rules: Rules, actor: str, force: bool
) -> tuple[Summary, RankingSnapshot]:
    """Rank the summary round and store its snapshot (the leaders' ballots settled too)."""
    parts, used = constituent_scores(session, rnd, rules, actor, force)
    data = load_round(session, rnd.id)
    summary = compute_summary(
        data.units, parts, data.seats, data.ballots, data.vetoes, rules, data.systems
    )
    set_statuses(
        session,
        rnd.id,
        {data.ballot_ids[k]: v for k, v in summary.leaders.ballot_status.items()},
    )
    result = summary.to_json(rnd.id, rnd.kind, list(rnd.parts))
    digest = sha256_text(inputs_digest(data, rules) + "|" + "|".join(used))
    snapshot = save_snapshot(session, rnd.id, rules.as_dict(), result, digest, actor)
    return summary, snapshot
