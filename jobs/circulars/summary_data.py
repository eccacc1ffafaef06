"""What a quarterly or half-year circular shows besides its ranking: change over time.

A summary's ranking (``jobs.summary``) says where each unit stands; its circular also has to say
how it got there (docs/circulars.md, "Quarterly and half-year circulars"): each constituent's
ranks, the movement against the previous summary of the same kind, the ranks month by month for
the chart, the quarter's problems (comments pooled over its months), the rectification measures
and where each veto came from. All of it is read here, once, into plain data; the renderer never
sees the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.circulars.comments import redact_names
from jobs.ranking import load_seats
from service.models.rounds import Round
from service.store.ballots import counted_comments
from service.store.measures import measure_json, round_measures
from service.store.reference import member_names
from service.store.results import latest_snapshot
from service.store.rounds import get_round, list_vetoes

# How many months the chart of ranks in a monthly circular looks back, the month itself included.
HISTORY_MONTHS = 6


def descendants(session: Session, rnd: Round) -> list[Round]:
    """The round's constituents at every depth, oldest first (a half year: Q1, its months, Q2, …)."""
    found: list[Round] = []
    for part_id in rnd.parts or ():
        part = get_round(session, part_id)
        found.append(part)
        found.extend(descendants(session, part))
    return found


def months_of(session: Session, rnd: Round) -> list[Round]:
    """The monthly rounds under a summary round, in the order its parts name them."""
    return [r for r in descendants(session, rnd) if r.kind == "monthly"]


def ranks_of(session: Session, round_id: str) -> dict[str, dict[str, Any]] | None:
    """Each unit's published score, status and ranks in a round, as last ranked; None if the
    round was never ranked."""
    snapshot = latest_snapshot(session, round_id)
    if snapshot is None:
        return None
    return {
        u["code"]: {
            "score": u.get("score"),
            "status": u.get("status"),
            "rank_in_system": u.get("rank_in_system"),
            "rank_overall": u.get("rank_overall"),
        }
        for u in snapshot.result.get("units", [])
    }


def previous_of_kind(session: Session, rnd: Round) -> Round | None:
    """The summary of the same kind just before this one (by opening time, then id) that was
    ranked: what "movement" is measured against."""
    earlier = session.scalars(
        select(Round)
        .where(Round.kind == rnd.kind, Round.id != rnd.id)
        .order_by(Round.opens_at.desc(), Round.id.desc())
    )
    for other in earlier:
        before = (other.opens_at, other.id) < (rnd.opens_at, rnd.id)
        if before and latest_snapshot(session, other.id) is not None:
            return other
    return None


def pooled_comments(session: Session, round_ids: Iterable[str]) -> dict[str, list[str]]:
    """Comments of counted ballots in these rounds, recused units left out, pooled per unit and
    sorted so that neither order nor round says anything about who wrote them.

    Markup is stripped and every pool member's name hidden here, where the pool is at hand: the
    circular's data never holds a name, so neither the PDF nor the XLSX can print one (phone and
    ID numbers are hidden when the comments are pooled for print, ``clean_comment``)."""
    pooled: dict[str, list[str]] = {}
    for round_id in round_ids:
        recusals = {s.token: s.recusals for s in load_seats(session, round_id)}
        for unit, text, token in counted_comments(session, round_id):
            if unit not in recusals.get(token, frozenset()):
                pooled.setdefault(unit, []).append(text)
    names = member_names(session)
    return {unit: sorted(redact_names(texts, names)) for unit, texts in pooled.items()}


def veto_origins(session: Session, rnd: Round, vetoed: Iterable[str]) -> list[dict]:
    """Where each vetoed unit's veto was decided: the summary round itself or a round below,
    with its reason, by and its decision date (ISO, as the deciding body dated it)."""
    wanted = set(vetoed)
    rows = []
    for source in [rnd, *descendants(session, rnd)]:
        for v in list_vetoes(session, source.id):
            if v.unit_code in wanted:
                rows.append(
                    {
                        "unit": v.unit_code,
                        "round": source.id,
                        "reason": v.reason,
                        "by": v.by,
                        "at": v.decided_on.isoformat(),
                    }
                )
    return rows


def summary_measures(session: Session, rnd: Round, units: Iterable[str] | None) -> list[dict]:
    """Rectification measures: those recorded or closed in the round or any round below it, and
    those still open from before; only for ``units`` when given (the half year lists the vetoed
    and the bottom units')."""
    tree = [*descendants(session, rnd), rnd]
    inside = {r.id for r in tree}
    rows = {m.id: m for source in tree for m in round_measures(session, source.id)}
    wanted = None if units is None else set(units)
    return [
        measure_json(m, rnd.id) | {"carried": m.round_id not in inside}
        for m in sorted(rows.values(), key=lambda m: (m.unit_code, m.id))
        if wanted is None or m.unit_code in wanted
    ]


def history_rounds(session: Session, rnd: Round) -> list[Round]:
    """The months a rank-over-months chart covers: a summary's own months; for a month, up to
    ``HISTORY_MONTHS`` monthly rounds opened before it (and ranked), itself last."""
    if rnd.kind != "monthly":
        return months_of(session, rnd)
    earlier = session.scalars(
        select(Round)
        .where(Round.kind == "monthly", Round.id != rnd.id, Round.opens_at < rnd.opens_at)
        .order_by(Round.opens_at.desc(), Round.id.desc())
    )
    found = [r for r in earlier if latest_snapshot(session, r.id) is not None]
    return [*reversed(found[: HISTORY_MONTHS - 1]), rnd]


def rank_history(session: Session, rounds: list[Round], period) -> dict[str, Any]:
    """Ranks in system per unit over ``rounds`` (``period`` gives a round's short label)."""
    periods, ranks = [], {}
    for index, r in enumerate(rounds):
        periods.append({"id": r.id, "label": period(r.id)})
        for code, u in (ranks_of(session, r.id) or {}).items():
            ranked = u["status"] in ("ranked", "vetoed")
            ranks.setdefault(code, [None] * len(rounds))[index] = (
                u["rank_in_system"] if ranked else None
            )
    return {"periods": periods, "ranks": ranks}
