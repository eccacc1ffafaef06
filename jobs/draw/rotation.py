"""Who may be drawn (docs/draw.md, "Rotation"), from frozen data only.

The announcement freezes the whole pool as it stood (every member with group and active flag)
and the rotation's history (per group: the cycle of the earlier draws and who served in it).
``derive_pool`` turns that into the published snapshot, both at the announcement and again in
``pingyi draw verify``: a draw's eligible lists are recomputed from its own record, never
trusted and never read from the pool tables as they are later (issue #9, item 16).

``served_in_cycle`` gives that history from a list of earlier draws; the announcement feeds it
from the draw tables, ``draw verify`` from the audit log as it stood when the pool was frozen
(``replay_draws``), so a history written into the record by hand shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from jobs.draw.method import (
    Allocation,
    DrawError,
    GroupSnapshot,
    PoolSnapshot,
    allocate,
    eligible_members,
)

History = Mapping[str, tuple[int, set[str]]]  # group -> (cycle of earlier draws, who served)


@dataclass(frozen=True)
class EarlierDraw:
    """A live (drawn, not voided) earlier draw as rotation sees it."""

    round_id: str
    groups: list[dict]  # the draw's recorded pool groups (name, cycle, …)
    seats: list[tuple[str, str, str]]  # (member id, group, seat status)


def served_in_cycle(draws: Iterable[EarlierDraw], round_id: str) -> dict[str, tuple[int, set[str]]]:
    """Per group: the current cycle number and who holds an active seat from an earlier drawn
    round of it (replaced members do not count, their replacements do). ``draws`` oldest first;
    the round being announced is left out, so a forced redraw never counts against itself."""
    earlier = [d for d in draws if d.round_id != round_id]
    cycles: dict[str, int] = {}
    for d in earlier:
        for g in d.groups:
            cycles[g["name"]] = int(g.get("cycle", 1))
    served: dict[str, set[str]] = {g: set() for g in cycles}
    for d in earlier:
        in_cycle = {g["name"] for g in d.groups if cycles[g["name"]] == int(g.get("cycle", 1))}
        for member, group, status in d.seats:
            if status == "active" and group in in_cycle:
                served[group].add(member)
    return {g: (cycles[g], served[g]) for g in cycles}


def replay_draws(entries: Iterable[tuple[str, str | None, dict]]) -> list[EarlierDraw]:
    """The live draws as the audit log tells them: ``entries`` are (action, round, detail) of
    the ``draw.*`` entries, oldest first. Every change to a draw or a seat is logged in the
    transaction that makes it, so this is the draw tables as they stood at the last entry."""
    drawn: dict[int, EarlierDraw] = {}
    for action, round_id, detail in entries:
        draw_id = detail.get("draw")
        if action == "draw.draw":
            seats = [(m, g, "active") for g, m in detail["seated"]]
            drawn[draw_id] = EarlierDraw(round_id or "", detail["pool"]["groups"], seats)
        elif action == "draw.replace" and draw_id in drawn:
            seats = drawn[draw_id].seats
            for i, (m, g, status) in enumerate(seats):
                if m == detail["member"] and status == "active":
                    seats[i] = (m, g, "replaced")
            seats.append((detail["replacement"], detail["group"], "active"))
        elif action == "draw.void":
            drawn.pop(draw_id, None)
    return list(drawn.values())  # dicts keep insertion order: the order they were drawn in


def derive_pool(
    round_id: str,
    seats: int,
    members: Mapping[str, tuple[str, bool]],
    history: History,
    quotas: Mapping[str, int] | None,
    method: str,
) -> tuple[PoolSnapshot, Allocation]:
    """The eligible pool from the whole pool (member id -> (group, active)) and the history.

    A group's rotation threshold is the most seats it can get: its quota, or its largest
    remainder share. ``rfc3797`` ignores quotas (it ignores groups), so they are neither used
    nor checked for it; its threshold is the proportional share.
    """
    if seats <= 0:
        raise DrawError("--seats must be a positive number")
    if method == "rfc3797":
        quotas = None
    active: dict[str, list[str]] = {}
    for member_id, (group, is_active) in members.items():
        if is_active:
            active.setdefault(group, []).append(member_id)
    if not active:
        raise DrawError("the pool has no active members (import the pool first)")
    for name in sorted(set(quotas or {}) - set(active)):
        raise DrawError(f"group {name!r} has no active members but a quota of {quotas[name]}")
    total = sum(len(v) for v in active.values())
    if seats > total:
        raise DrawError(f"{seats} seats but only {total} active members in the pool")
    allocation = allocate(seats, {g: len(v) for g, v in active.items()}, quotas)
    groups = []
    for name in sorted(active):
        cycle, served = history.get(name, (0, set()))
        eligible, restarted = eligible_members(active[name], set(served), allocation.most(name))
        if cycle == 0:
            cycle, restarted = 1, False
        elif restarted:
            cycle += 1
        if allocation.fixed[name] > len(eligible):
            raise DrawError(
                f"group {name!r}: {allocation.fixed[name]} seats but only {len(eligible)} "
                "eligible members"
            )
        quota = None if quotas is None else int(quotas.get(name, 0))
        groups.append(
            GroupSnapshot(
                name,
                len(active[name]),
                tuple(eligible),
                quota,
                cycle,
                restarted,
                tuple(sorted(active[name])),
            )
        )
    return PoolSnapshot(round_id, seats, tuple(groups)), allocation


def frozen_record(
    snapshot: PoolSnapshot, members: Mapping[str, tuple[str, bool]], history: History, as_of: int
) -> dict:
    """The pool as recorded with the announcement: the published snapshot, plus the inactive
    members and the rotation history it was derived from. ``as_of`` is the id of the last
    audit entry when it was frozen: ``draw verify`` replays the log up to there."""
    inactive: dict[str, list[str]] = {}
    for member_id, (group, is_active) in sorted(members.items()):
        if not is_active:
            inactive.setdefault(group, []).append(member_id)
    rotation = {
        g.name: {
            "cycle": history.get(g.name, (0, set()))[0],
            "served": sorted(history.get(g.name, (0, set()))[1]),
        }
        for g in snapshot.groups
    }
    return {
        **snapshot.as_dict(),
        "inactive": dict(sorted(inactive.items())),
        "rotation": {"as_of": as_of, "groups": rotation},
    }


def frozen_inputs(record: Mapping) -> tuple[dict[str, tuple[str, bool]], dict, list[str]] | None:
    """(members, history, problems) from a recorded pool; None for a record made before the
    whole pool was frozen (it has no ``rotation``). A member listed twice is a problem."""
    if "rotation" not in record:
        return None
    members: dict[str, tuple[str, bool]] = {}
    problems = []
    listed = [(m, g["name"], True) for g in record["groups"] for m in g.get("members", ())]
    listed += [(m, group, False) for group, ids in record["inactive"].items() for m in ids]
    for member_id, group, is_active in listed:
        if member_id in members:
            problems.append(f"pool: member {member_id} is listed twice in the frozen pool")
        members[member_id] = (group, is_active)
    history = {
        g: (int(h["cycle"]), set(h["served"])) for g, h in record["rotation"]["groups"].items()
    }
    return members, history, problems
