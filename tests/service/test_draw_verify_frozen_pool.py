"""A draw verifies from its own record forever (issue #9, item 16; docs/draw.md).

The announcement freezes the whole pool (every member with group and active flag) and the
rotation history; ``pingyi draw verify`` recomputes the eligible lists from that record, and the
history from the audit log as it stood when the pool was frozen. It never reads the pool tables,
so an ordinary later import does not turn an earlier draw into DIFFERENT, while a rewritten
frozen record is named even when the insider re-hashed the whole audit chain to hide it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models.audit import AuditEntry
from service.models.reference import Group, Member
from service.models.rounds import Draw
from service.store.audit import _entry_hash
from tests.conftest import Cli
from tests.service.draw_setup import (
    MEMBERS,
    RD,
    ROUND,
    SEED,
    SOURCES,
    ZX,
    announce_and_draw,
    db,
    setup_pool,
    verify,
    write_pool,
)

NEXT = "2026-11"


def _changed_pool(tmp_path: Path) -> Path:
    """An ordinary next-month pool file: one member added, a seated one made inactive."""
    members = {**MEMBERS, "RD07": ("人大7号", RD, "", True)}
    members["ZX01"] = (*MEMBERS["ZX01"][:3], False)
    (tmp_path / "next").mkdir()
    return write_pool(tmp_path / "next", members)


def _rewrite(s: Session, change: Callable[[dict], None]) -> None:
    """Apply ``change`` to the frozen pool everywhere it is kept (both audit entries and the
    draw row) and re-hash the chain from there on: what an insider with write access to every
    table could do, so only the recomputation itself can tell."""
    prev = None
    for entry in s.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        if entry.action in ("draw.announce", "draw.draw") and entry.round_id == ROUND:
            detail = json.loads(json.dumps(entry.detail))
            change(detail["pool"])
            entry.detail = detail
        if prev is not None:
            entry.prev_hash = prev
            entry.hash = _entry_hash(entry, prev)
        prev = entry.hash
    for d in s.scalars(select(Draw).where(Draw.round_id == ROUND, Draw.status == "drawn")):
        pool = json.loads(json.dumps(d.pool))
        change(pool)
        d.pool = pool


def _group(pool: dict, name: str) -> dict:
    return next(g for g in pool["groups"] if g["name"] == name)


def test_a_later_pool_import_leaves_an_earlier_draw_verifiable(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path, rounds=(ROUND, NEXT))
    cli("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    drawn = cli.json("draw", ROUND, "--seed", SEED)
    assert "ZX01" in {s["evaluator"] for s in drawn["seats"]}
    cli("import", "pool", str(_changed_pool(tmp_path)))
    with db(cli) as s:  # and a member moved to another group by hand
        s.get(Member, "RD06").group_id = s.scalars(select(Group.id).where(Group.name == ZX)).one()
    assert "match" in verify(cli, ok=True)  # exit status 0
    # The next round is drawn from the new pool, and both rounds verify.
    announced = cli.json("draw", "announce", NEXT, "--seats", "4")
    cli("draw", NEXT, "--seed", "7./")
    pool = announced["pool"]
    assert pool["inactive"] == {ZX: ["ZX01"]}
    assert pool["rotation"]["groups"][RD] == {"cycle": 1, "served": ["RD01", "RD05", "RD06"]}
    assert "RD07" in _group(pool, RD)["eligible"] and "RD06" in _group(pool, ZX)["eligible"]
    for rid in (ROUND, NEXT):
        assert cli.json("draw", "verify", rid) == {
            "round": rid,
            "match": True,
            "differences": [],
            "notes": [],
        }


def test_the_frozen_pool_is_recorded_whole(cli: Cli, tmp_path: Path) -> None:
    members = {
        **MEMBERS,
        "RD07": ("人大7号", RD, "", False),
        "XC01": ("乡村1", "乡村干部", "", False),
    }
    setup_pool(cli, tmp_path, members)
    announced = cli.json("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    pool = announced["pool"]
    assert pool["inactive"] == {RD: ["RD07"], "乡村干部": ["XC01"]}
    assert _group(pool, RD)["members"] == [f"RD0{i}" for i in range(1, 7)]
    assert pool["rotation"]["groups"] == {
        RD: {"cycle": 0, "served": []},
        ZX: {"cycle": 0, "served": []},
    }
    text = cli("draw", "announce", ROUND, "--seats", "5", "--force")
    assert text.endswith(f"inactive members (never eligible):\n  乡村干部: XC01\n  {RD}: RD07\n")


def _served_claimed(pool: dict) -> None:
    pool["rotation"]["groups"][RD]["served"] = ["RD04"]  # yet RD04 stays eligible


def _made_inactive(pool: dict) -> None:
    rd = _group(pool, RD)
    rd["members"].remove("RD04")  # yet RD04 stays eligible
    pool["inactive"] = {RD: ["RD04"]}


def _listed_twice(pool: dict) -> None:
    pool["inactive"] = {ZX: ["RD04"]}


def _draw_then_rewrite(cli: Cli, tmp_path: Path, change: Callable[[dict], None]) -> str:
    announce_and_draw(cli, tmp_path)
    assert "match" in verify(cli, ok=True)
    with db(cli) as s:
        _rewrite(s, change)
    out = verify(cli, ok=False)
    assert "hash chain" not in out and "draw table" not in out  # a thorough insider
    return out


def test_a_claimed_earlier_service_is_named(cli: Cli, tmp_path: Path) -> None:
    out = _draw_then_rewrite(cli, tmp_path, _served_claimed)
    assert f"eligible of {RD}: position 4 is RD04 in the record, RD05" in out
    assert f"rotation of {RD}: the record says cycle 0 and 1 served" in out
    assert "says cycle 0 and 0 served (differing: RD04)" in out


def test_an_eligible_member_recorded_inactive_is_named(cli: Cli, tmp_path: Path) -> None:
    out = _draw_then_rewrite(cli, tmp_path, _made_inactive)
    assert f"pool, {RD}: active is 6 in the record, 5 from the frozen pool" in out


def test_a_member_listed_twice_is_named(cli: Cli, tmp_path: Path) -> None:
    out = _draw_then_rewrite(cli, tmp_path, _listed_twice)
    assert "pool: member RD04 is listed twice in the frozen pool" in out


def test_a_rewritten_rotation_history_is_named_from_the_log(cli: Cli, tmp_path: Path) -> None:
    # Round 1 seats RD06 RD01 RD05 and ZX01 ZX02; round 2's history says so, and the log too.
    setup_pool(cli, tmp_path, rounds=("2026-09", ROUND))
    cli("draw", "2026-09", "--seed", SEED, "--seats", "5")
    cli("draw", "announce", ROUND, "--seats", "5")
    cli("draw", ROUND, "--seed", "7./")
    assert "match" in verify(cli, ok=True)

    def later_cycle(pool: dict) -> None:
        # Consistent with itself (same eligible lists), but not with the earlier draw.
        pool["rotation"]["groups"][RD]["cycle"] = 7
        pool["rotation"]["groups"][RD]["served"].append("RD99")
        _group(pool, RD)["cycle"] = 7

    with db(cli) as s:
        _rewrite(s, later_cycle)
    out = verify(cli, ok=False)
    assert "hash chain" not in out and "eligible of" not in out
    assert f"rotation of {RD}: the record says cycle 7 and 4 served" in out
    assert "says cycle 1 and 3 served (differing: RD99)" in out


def test_a_record_from_before_the_frozen_pool_still_verifies(cli: Cli, tmp_path: Path) -> None:
    announce_and_draw(cli, tmp_path)

    def older_shape(pool: dict) -> None:
        del pool["inactive"], pool["rotation"]

    with db(cli) as s:
        _rewrite(s, older_shape)
    data = json.loads(cli("draw", "verify", ROUND, "--json"))
    assert data["match"] is True and data["differences"] == []
    assert "taken as recorded" in data["notes"][0]
    assert "note: this draw was recorded before" in verify(cli, ok=True)


def test_a_forced_redraw_verifies_against_the_log_as_it_stood_at_the_freeze(
    cli: Cli, tmp_path: Path
) -> None:
    # 2026-10 is announced and drawn, then 2026-11 is drawn (its seats enter the log), then
    # 2026-10 is redrawn with --force: the same frozen pool, whose history predates 2026-11.
    setup_pool(cli, tmp_path, rounds=(ROUND, NEXT))
    cli("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    cli("draw", ROUND, "--seed", SEED)
    cli("draw", NEXT, "--seed", "7./", "--seats", "4")
    cli("draw", ROUND, "--seed", "1./2./", "--force")
    with db(cli) as s:
        pools = [d.pool for d in s.scalars(select(Draw).where(Draw.round_id == ROUND))]
    assert len(pools) == 2 and pools[0] == pools[1]  # the re-issued announcement
    assert pools[1]["rotation"]["groups"][RD] == {"cycle": 0, "served": []}
    for rid in (ROUND, NEXT):
        assert "match" in cli("draw", "verify", rid)
