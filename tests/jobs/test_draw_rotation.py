"""Eligibility from frozen data (``jobs/draw/rotation.py``; docs/draw.md, Rotation) and the
``rfc3797`` method without seats per group (issue #9, items 16 and 17). No database here."""

from __future__ import annotations

import pytest

from jobs.draw.method import DrawError, GroupSnapshot, PoolSnapshot, run_draw
from jobs.draw.rotation import (
    EarlierDraw,
    derive_pool,
    frozen_inputs,
    frozen_record,
    replay_draws,
    served_in_cycle,
)
from tests.jobs.test_draw_order_vectors import SEED

RD, ZX = "人大代表", "政协委员"
MEMBERS = {
    **{f"RD0{i}": (RD, True) for i in range(1, 7)},
    **{f"ZX0{i}": (ZX, True) for i in range(1, 6)},
    "RD07": (RD, False),
}

# ---- rfc3797 ignores groups, so it ignores quotas too ------------------------------------------


def test_rfc3797_draws_whatever_the_quotas_say() -> None:
    # Quotas of 3 + 0 for 5 seats: refused for hmac-sha256-v1, irrelevant to one list.
    quotas = {RD: 3, ZX: 0}
    with pytest.raises(DrawError, match="add up to 3 seats, not 5"):
        derive_pool("2026-10", 5, MEMBERS, {}, quotas, "hmac-sha256-v1")
    pool, _ = derive_pool("2026-10", 5, MEMBERS, {}, quotas, "rfc3797")
    assert [g.quota for g in pool.groups] == [None, None]
    assert len(run_draw(pool, "rfc3797", SEED).seated) == 5


def test_run_draw_rfc3797_does_not_allocate_seats_per_group() -> None:
    # A snapshot that carries quotas (as records made before this fix could) still draws.
    pool = PoolSnapshot(
        "2026-10",
        4,
        (
            GroupSnapshot(RD, 3, ("RD01", "RD02", "RD03"), quota=1),
            GroupSnapshot(ZX, 3, ("ZX01", "ZX02", "ZX03"), quota=1),
        ),
    )
    with pytest.raises(DrawError, match="add up to 2 seats, not 4"):
        run_draw(pool, "hmac-sha256-v1", SEED)
    result = run_draw(pool, "rfc3797", SEED)
    assert len(result.seated) == 4 and sum(result.seats_per_group.values()) == 4


# ---- derive_pool: the announcement's eligible pool, redone from frozen data ------------------


def test_derive_pool_leaves_out_the_served_and_the_inactive() -> None:
    history = {RD: (2, {"RD01", "RD02", "RD07"}), ZX: (1, {"ZX01", "ZX02", "ZX03", "ZX04"})}
    pool, allocation = derive_pool("2026-10", 5, MEMBERS, history, None, "hmac-sha256-v1")
    rd, zx = pool.groups
    # 5 seats over 6 + 5 active: 2.73 and 2.27 → 人大代表 3, 政协委员 2.
    assert allocation.fixed == {RD: 3, ZX: 2}
    assert (rd.eligible, rd.cycle, rd.restarted) == (("RD03", "RD04", "RD05", "RD06"), 2, False)
    # One unserved 政协委员 is fewer than its 2 seats: the cycle restarts with all five.
    assert (zx.eligible, zx.cycle, zx.restarted) == (tuple(f"ZX0{i}" for i in range(1, 6)), 2, True)
    assert rd.active == 6 and "RD07" not in rd.members


def test_the_frozen_record_gives_back_what_it_was_derived_from() -> None:
    history = {RD: (1, {"RD01"})}
    pool, _ = derive_pool("2026-10", 5, MEMBERS, history, None, "hmac-sha256-v1")
    record = frozen_record(pool, MEMBERS, history, as_of=41)
    assert record["inactive"] == {RD: ["RD07"]}
    assert record["rotation"] == {
        "as_of": 41,
        "groups": {RD: {"cycle": 1, "served": ["RD01"]}, ZX: {"cycle": 0, "served": []}},
    }
    members, again, problems = frozen_inputs(record)
    assert (members, problems) == (MEMBERS, [])
    assert derive_pool("2026-10", 5, members, again, None, "hmac-sha256-v1")[0] == pool
    assert PoolSnapshot.from_dict(record) == pool
    older = {k: v for k, v in record.items() if k not in ("inactive", "rotation")}
    assert frozen_inputs(older) is None


# ---- the rotation history, from the draw tables or from the audit log ------------------------


def _log() -> list[tuple[str, str | None, dict]]:
    groups = [{"name": RD, "cycle": 1}, {"name": ZX, "cycle": 1}]
    return [
        ("draw.announce", "2026-08", {"draw": 1, "pool": {"groups": groups}}),
        ("draw.draw", "2026-08", {"draw": 1, "pool": {"groups": groups},
                                  "seated": [[RD, "RD01"], [ZX, "ZX01"]]}),
        ("draw.replace", "2026-08", {"draw": 1, "group": RD, "member": "RD01",
                                     "replacement": "RD02"}),
        ("draw.draw", "2026-09", {"draw": 2, "pool": {"groups": groups},
                                  "seated": [[RD, "RD03"], [ZX, "ZX02"]]}),
        ("draw.void", "2026-09", {"draw": 2, "was": "drawn"}),
        ("draw.draw", "2026-09", {"draw": 3, "pool": {"groups": [{"name": RD, "cycle": 2},
                                                                 {"name": ZX, "cycle": 1}]},
                                  "seated": [[RD, "RD04"], [ZX, "ZX03"]]}),
    ]  # fmt: skip


def test_the_audit_log_replays_into_the_rotation_history() -> None:
    draws = replay_draws(_log())
    assert [d.round_id for d in draws] == ["2026-08", "2026-09"]  # the voided draw is gone
    assert draws[0].seats == [
        ("RD01", RD, "replaced"),
        ("ZX01", ZX, "active"),
        ("RD02", RD, "active"),
    ]
    # 人大代表 moved to cycle 2 in 2026-09: only RD04 served in it. RD01 was replaced.
    assert served_in_cycle(draws, "2026-10") == {RD: (2, {"RD04"}), ZX: (1, {"ZX01", "ZX03"})}
    # A round never counts against itself (a forced redraw of 2026-09).
    assert served_in_cycle(draws, "2026-09") == {RD: (1, {"RD02"}), ZX: (1, {"ZX01"})}


def test_served_in_cycle_counts_active_seats_only() -> None:
    draw = EarlierDraw("2026-09", [{"name": RD}], [("RD01", RD, "replaced"), ("RD02", RD, "void")])
    assert served_in_cycle([draw], "2026-10") == {RD: (1, set())}
