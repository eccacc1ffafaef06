"""Running the draw against the database: announce, draw, replace, links, fairness report.

The arithmetic is in ``jobs.draw.method`` (pure); this module gathers its inputs (the active pool,
who has served in the current cycle) and hands the results to ``service.store.draws`` to store.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.orm import Session

from jobs.draw.method import (
    DrawError,
    PoolSnapshot,
    next_reserve,
    parse_seed,
    pool_sha256,
    run_draw,
)
from jobs.draw.rotation import EarlierDraw, derive_pool, frozen_record, served_in_cycle
from service.models.rounds import Draw, Seat
from service.store.draws import (
    announced_allocation,
    audit_position,
    current_draw,
    draw_seats,
    drawn_draws,
    save_announcement,
    save_draw,
    void_draw,
)
from service.store.draws import replace_seat as store_replacement
from service.store.engine import StoreError
from service.store.reference import pool_members
from service.store.rounds import get_round, seated_members

logger = logging.getLogger(__name__)


def _earlier_draws(session: Session) -> list[EarlierDraw]:
    """Every live draw, oldest first, with its seats as the tables hold them now."""
    return [
        EarlierDraw(
            d.round_id, d.pool["groups"], [(m, g, st) for m, g, st, _ in draw_seats(session, d.id)]
        )
        for d in drawn_draws(session)
    ]


def build_snapshot(
    session: Session,
    round_id: str,
    seats: int,
    quotas: dict[str, int] | None,
    method: str = "hmac-sha256-v1",
) -> tuple[dict, str, dict]:
    """Freeze the pool for the announcement (docs/draw.md): the record (the eligible snapshot
    with the whole pool and rotation history it comes from), its fingerprint and the
    allocation before the seed."""
    as_of = audit_position(session)
    members = {m: (group, active) for m, group, active in pool_members(session)}
    history = served_in_cycle(_earlier_draws(session), round_id)
    snapshot, allocation = derive_pool(round_id, seats, members, history, quotas, method)
    allocation_record = {
        "fixed": dict(sorted(allocation.fixed.items())),
        "tied": list(allocation.tied),
        "tied_seats": allocation.tied_seats,
    }
    record = frozen_record(snapshot, members, history, as_of)
    return record, pool_sha256(snapshot), allocation_record


def _check_round(session: Session, round_id: str, force: bool) -> Draw | None:
    """Refuse a round with a designated panel or a draw, unless ``force`` (which is recorded)."""
    rnd = get_round(session, round_id)
    if rnd.panel_method == "designated":
        raise StoreError(f"round {round_id!r} has a designated panel (pingyi panel set)")
    existing = current_draw(session, round_id)
    if existing is not None and not force:
        what = "drawn" if existing.status == "drawn" else "announced"
        raise StoreError(f"round {round_id!r} is already {what}; use --force to redo it (recorded)")
    return existing


def announce(
    session: Session,
    round_id: str,
    seats: int,
    sources: list[str],
    method: str,
    quotas: dict[str, int] | None,
    force: bool = False,
) -> Draw:
    """Freeze and record what gets published before the lottery is drawn."""
    existing = _check_round(session, round_id, force)
    record, fingerprint, allocation = build_snapshot(session, round_id, seats, quotas, method)
    if existing is not None:
        void_draw(session, existing, "announced again with --force")
    return save_announcement(
        session, round_id, method, seats, sources, record, fingerprint, allocation, force
    )


def draw(
    session: Session,
    round_id: str,
    seed: str,
    method: str | None = None,
    seats: int | None = None,
    quotas: dict[str, int] | None = None,
    force: bool = False,
) -> tuple[Draw, list[tuple[Seat, str]]]:
    """Draw the round's panel from the seed; announces in the same step when given ``seats``."""
    get_round(session, round_id)
    parse_seed(seed)  # a malformed seed is refused before anything else is looked at
    existing = current_draw(session, round_id)
    if (
        existing is not None
        and existing.status == "drawn"
        and force
        and seats in (None, existing.seats)
    ):
        # A forced redraw keeps what was published: the same frozen pool, seats and sources.
        existing = redraw_announcement(session, existing)
    elif existing is None or existing.status == "drawn":
        if existing is not None and not force:
            raise StoreError(
                f"round {round_id!r} is already drawn; use --force to redo it (recorded)"
            )
        if seats is None:
            raise DrawError(
                f"round {round_id!r} has no announcement: run `pingyi draw announce` first, "
                "or give --seats to announce and draw in one step"
            )
        existing = announce(session, round_id, seats, [], method or "hmac-sha256-v1", quotas, force)
    if seats is not None and seats != existing.seats:
        raise DrawError(f"--seats {seats} differs from the announced {existing.seats} seats")
    if method is not None and method != existing.method:
        raise DrawError(f"--method {method} differs from the announced method {existing.method}")
    parse_seed(seed, len(existing.sources) or None)
    result = run_draw(PoolSnapshot.from_dict(existing.pool), existing.method, seed)
    seated = save_draw(session, existing, result.as_dict(), force)
    logger.info("drew round %s: %d seats (%s)", round_id, len(seated), existing.method)
    return existing, seated


def redraw_announcement(session: Session, drawn: Draw) -> Draw:
    """Void a drawn draw and re-issue its announcement unchanged (for ``--force``)."""
    void_draw(session, drawn, "drawn again with --force")
    allocation = announced_allocation(session, drawn)
    return save_announcement(
        session,
        drawn.round_id,
        drawn.method,
        drawn.seats,
        list(drawn.sources),
        drawn.pool,
        drawn.pool_sha256,
        allocation,
        True,
    )


def replace(session: Session, round_id: str, member_id: str, reason: str) -> tuple[str, Seat]:
    """Replace a seated member by the next unused member of their group's reserve list."""
    get_round(session, round_id)
    if not reason.strip():
        raise StoreError("a replacement needs a reason (--reason)")
    d = current_draw(session, round_id)
    if d is None or d.status != "drawn":
        raise StoreError(f"round {round_id!r} has no draw")
    seats = draw_seats(session, d.id)
    group = next((g for m, g, status, _ in seats if m == member_id and status == "active"), None)
    if group is None:
        raise StoreError(f"{member_id!r} holds no active seat in round {round_id!r}")
    used = {m for m, _, _, _ in seats}
    replacement = next_reserve(d.result["reserve"].get(group, []), used)
    if replacement is None:
        raise StoreError(f"group {group!r}: the reserve list is used up")
    _, seat = store_replacement(session, d, member_id, replacement, reason.strip())
    return replacement, seat


@dataclass
class LinkRow:
    member: str
    name: str
    group: str
    link: str


def links(session: Session, round_id: str, template: str) -> list[LinkRow]:
    """Personalised survey links for the round's active seats."""
    if "{token}" not in template:
        raise StoreError(
            "--template must contain {token}, e.g. https://survey.example/s/1?token={token}"
        )
    get_round(session, round_id)
    return [
        LinkRow(mid, name, group, template.replace("{token}", quote(token, safe="")))
        for mid, name, group, token in seated_members(session, round_id)
    ]


def stats(session: Session, rounds: int | None = None) -> dict:
    """How often each member served, per group, and each group's selection probability."""
    drawn = drawn_draws(session)  # oldest first
    draws = drawn[-rounds:] if rounds else drawn  # the last ``rounds``, still oldest first
    members = {m: group for m, group, _ in pool_members(session, active_only=True)}
    served: Counter = Counter()
    per_round = []
    for d in draws:
        served.update(m for m, _, status, _ in draw_seats(session, d.id) if status == "active")
        seats = d.result["seats_per_group"]
        per_round.append(
            {
                "round": d.round_id,
                "groups": {
                    g["name"]: {
                        "seats": seats.get(g["name"], 0),
                        "eligible": len(g["eligible"]),
                        "active": g["active"],
                        "probability": round(seats.get(g["name"], 0) / len(g["eligible"]), 4)
                        if g["eligible"]
                        else 0.0,
                        "cycle": g.get("cycle", 1),
                    }
                    for g in d.pool["groups"]
                },
            }
        )
    by_group: dict[str, dict] = {}
    for member, group in sorted(members.items()):
        entry = by_group.setdefault(group, {"members": 0, "counts": {}})
        entry["members"] += 1
        entry["counts"][member] = served.get(member, 0)
    for entry in by_group.values():
        counts = list(entry["counts"].values())
        entry["min"], entry["max"] = min(counts), max(counts)
        entry["mean"] = round(sum(counts) / len(counts), 4)
    return {
        "rounds": [d.round_id for d in draws],
        "draws_total": len(drawn),
        "groups": by_group,
        "per_round": per_round,
    }


def draw_job(
    round_id: str,
    seed: str | None = None,
    numbers: str | None = None,
    seats: int | None = None,
    method: str | None = None,
    force: bool = False,
) -> dict:
    """``POST /api/v1/rounds/<id>/draw`` in a worker. Its result (kept in Redis a while) holds
    no token: admins read the seats from ``GET /api/v1/rounds/<id>/panel``."""
    from jobs.draw.method import seed_from_numbers
    from service.context import Context
    from service.store.engine import session_scope

    ctx = Context.for_job()
    seed_text = seed or seed_from_numbers(numbers or "")
    with session_scope(ctx.engine) as session:
        d, seated = draw(
            session,
            round_id,
            seed_text,
            method or (None if seats is None else ctx.config.draw.method),
            seats,
            ctx.config.draw.quotas or None,
            force,
        )
        return {
            "round": round_id,
            "method": d.method,
            "seed": d.seed,
            "key": d.key,
            "pool_sha256": d.pool_sha256,
            "seats": len(seated),
            "reserve": d.result["reserve"],
        }
