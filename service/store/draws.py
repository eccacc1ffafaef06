"""Panel draws: announcements, seats with fresh tokens, replacements, voiding, and reading
them back for the next draw's rotation, the fairness figures and ``draw verify``.

Each step writes its audit record in the same transaction as its rows. The ``draw.draw`` record
carries everything needed to recompute the draw (pool snapshot, seed, method, ordered lists), and
never a token: tokens are bearer secrets and live only in ``seats``.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models.audit import AuditEntry
from service.models.rounds import Draw, Seat, SeatHolder
from service.store.audit import append_audit, sha256_text
from service.store.engine import StoreError, utcnow
from service.store.reference import pool_fingerprint
from service.store.rounds import get_round, new_token, panel


def current_draw(session: Session, round_id: str) -> Draw | None:
    """The round's live draw (announced or drawn), if any."""
    return session.scalars(
        select(Draw)
        .where(Draw.round_id == round_id, Draw.status != "void")
        .order_by(Draw.id.desc())
        .limit(1)
    ).first()


def get_draw(session: Session, draw_id: int) -> Draw | None:
    return session.get(Draw, draw_id)


def drawn_draws(session: Session) -> list[Draw]:
    """Every draw that was drawn (and not voided since), oldest first."""
    return list(
        session.scalars(select(Draw).where(Draw.status == "drawn").order_by(Draw.drawn_at, Draw.id))
    )


def draw_seats(session: Session, draw_id: int) -> list[tuple[str, str, str, str]]:
    """(member id, group, seat status, token) of every seat the draw made, replacements too."""
    return [
        (member_id, group, status, token)
        for member_id, group, status, token in session.execute(
            select(SeatHolder.member_id, Seat.group_name, Seat.status, Seat.token)
            .join(Seat, Seat.id == SeatHolder.seat_id)
            .where(Seat.draw_id == draw_id)
        )
    ]


def audit_position(session: Session) -> int:
    """The id of the audit log's last entry (0 when empty): where a frozen pool was taken."""
    return session.scalar(select(func.max(AuditEntry.id))) or 0


def draw_log(session: Session, up_to: int) -> list[tuple[str, str | None, dict]]:
    """(action, round, detail) of every ``draw.*`` audit entry up to entry ``up_to``, oldest
    first, across all rounds: what ``draw verify`` replays the rotation history from."""
    return [
        (e.action, e.round_id, e.detail)
        for e in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.id <= up_to, AuditEntry.action.startswith("draw."))
            .order_by(AuditEntry.id)
        )
    ]


def announced_allocation(session: Session, draw: Draw) -> dict:
    """The seats per group as recorded with the draw's announcement (the draw row keeps only
    the pool; the allocation, with its tied groups, is in the audit record)."""
    return next(
        e.detail["allocation"]
        for e in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "draw.announce", AuditEntry.round_id == draw.round_id)
            .order_by(AuditEntry.id.desc())
        )
        if e.detail["draw"] == draw.id
    )


def save_announcement(
    session: Session,
    round_id: str,
    method: str,
    seats: int,
    sources: list[str],
    pool: dict,
    pool_sha256: str,
    allocation: dict,
    forced: bool,
) -> Draw:
    """Freeze the pool, seats and sources for the round; this is what gets published. The
    round's panel is from then on a drawn one."""
    get_round(session, round_id).panel_method = "draw"
    draw = Draw(
        round_id=round_id,
        status="announced",
        method=method,
        seats=seats,
        sources=sources,
        pool=pool,
        pool_sha256=pool_sha256,
        forced=forced,
        announced_at=utcnow(),
    )
    session.add(draw)
    session.flush()
    append_audit(
        session,
        "draw.announce",
        {
            "draw": draw.id,
            "method": method,
            "seats": seats,
            "sources": sources,
            "pool_sha256": pool_sha256,
            "allocation": allocation,
            "pool": pool,
            "forced": forced,
        },
        round_id,
    )
    return draw


def void_draw(session: Session, draw: Draw, reason: str) -> int:
    """Void a draw (``--force``): its seats stop voting; returns how many seats were voided."""
    seats = session.scalars(select(Seat).where(Seat.draw_id == draw.id)).all()
    for seat in seats:
        seat.status = "void"
    previous = draw.status
    draw.status = "void"
    append_audit(
        session,
        "draw.void",
        {"draw": draw.id, "was": previous, "seats": len(seats), "reason": reason},
        draw.round_id,
    )
    return len(seats)


def save_draw(session: Session, draw: Draw, result: dict, forced: bool) -> list[tuple[Seat, str]]:
    """Seat the drawn members with fresh tokens and write the full draw record to the log."""
    now = utcnow()
    draw.status, draw.seed, draw.key = "drawn", result["seed"], result["key"]
    draw.result, draw.drawn_at = result, now
    seated = []
    hashes = []
    for group, member_id in result["seated"]:
        seat = Seat(
            round_id=draw.round_id,
            token=new_token(),
            group_name=group,
            status="active",
            created_at=now,
            draw_id=draw.id,
        )
        session.add(seat)
        session.flush()
        session.add(SeatHolder(seat_id=seat.id, member_id=member_id))
        seated.append((seat, member_id))
        hashes.append(sha256_text(seat.token))
    append_audit(
        session,
        "draw.draw",
        {
            "draw": draw.id,
            "round": draw.round_id,
            "seats": draw.seats,
            "sources": draw.sources,
            "pool": draw.pool,
            "pool_sha256": draw.pool_sha256,
            "forced": forced,
            **result,
            # SHA-256 of each seat's token, in seat order: verify can tell a swapped token
            # without the record ever holding a token.
            "token_sha256": hashes,
        },
        draw.round_id,
    )
    return seated


def replace_seat(
    session: Session, draw: Draw, member_id: str, replacement: str, reason: str
) -> tuple[Seat, Seat]:
    """The seat of ``member_id`` is replaced (its token stops working) by a new seat for
    ``replacement``; returns (old seat, new seat)."""
    old = session.execute(
        select(Seat)
        .join(SeatHolder, SeatHolder.seat_id == Seat.id)
        .where(Seat.draw_id == draw.id, SeatHolder.member_id == member_id, Seat.status == "active")
    ).scalar_one_or_none()
    if old is None:
        raise StoreError(f"{member_id!r} holds no active seat in round {draw.round_id!r}")
    new = Seat(
        round_id=draw.round_id,
        token=new_token(),
        group_name=old.group_name,
        status="active",
        created_at=utcnow(),
        draw_id=draw.id,
    )
    session.add(new)
    session.flush()
    session.add(SeatHolder(seat_id=new.id, member_id=replacement))
    old.status, old.replaced_by = "replaced", new.id
    append_audit(
        session,
        "draw.replace",
        {
            "draw": draw.id,
            "group": old.group_name,
            "member": member_id,
            "replacement": replacement,
            "reason": reason,
            "token_sha256": sha256_text(new.token),
        },
        draw.round_id,
    )
    return old, new


def panel_json(session: Session, round_id: str) -> dict:
    """The round's panel in the docs/draw.md shape, with tokens (admin only in the service).

    Seats that no longer vote (replaced, or voided by a forced redraw) are listed apart and
    without their tokens.
    """
    rnd = get_round(session, round_id)
    seats = panel(session, round_id)
    drawn = current_draw(session, round_id) if rnd.panel_method == "draw" else None
    return {
        "round": round_id,
        "method": drawn.method if drawn else rnd.panel_method,
        "seed": drawn.seed if drawn else None,
        "key": drawn.key if drawn else None,
        "pool_sha256": drawn.pool_sha256 if drawn else pool_fingerprint(session),
        "seats": [
            {"evaluator": mid, "group": s.group_name, "token": s.token}
            for s, mid in seats
            if s.status == "active"
        ],
        "reserve": (drawn.result or {}).get("reserve", {}) if drawn else {},
        "inactive_seats": [
            {"evaluator": mid, "group": s.group_name, "status": s.status}
            for s, mid in seats
            if s.status != "active"
        ],
    }
