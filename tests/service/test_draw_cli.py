"""The panel draw through the ``pingyi`` CLI (SPEC §3, §7; issue #3), on SQLite and PostgreSQL.

The expected panels are not taken from the code under test: the hmac-sha256-v1 seats of the
11-member pool below come from ``openssl`` (see ``tests/jobs/test_draw_method.py`` for the commands and
digests), the RFC 3797 ones from the RFC's published example, and rotation is checked against
a small model of SPEC §3 written here.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs.draw.method import PoolSnapshot, pool_sha256
from service.models.audit import AuditEntry
from service.models.ballots import Ballot
from service.models.reference import Group, Member
from service.models.rounds import Draw, Seat, SeatHolder
from service.store.engine import make_engine, session_scope
from tests.conftest import Cli

ROUND = "2026-10"
SOURCES = "快乐8 2026-10-20; 双色球 2026-10-20"
SEED = "9319./2.5.8.10.12./"  # two sources, as announced
K_HEX = "6c3660b34be72847d573c35ba6bd2655764e7997b8accf7c78c118e5651c5a92"  # openssl dgst -sha256
RFC_KEY = "9319./2.5.8.10.12./9.18.26.34.41.45./"
RFC_ORDER = [17, 7, 2, 16, 25, 23, 8, 24, 19, 13, 22, 5, 18, 9, 1, 4]
AT = "2026-10-28T09:12:00+08:00"

RD = "人大代表"
ZX = "政协委员"
XC = "乡村干部"

# id -> (name, group, conflicts, active)
MEMBERS: dict[str, tuple[str, str, str, bool]] = {
    **{f"RD0{i}": (f"人大{i}号", RD, "U1" if i == 6 else "", True) for i in range(1, 7)},
    **{f"ZX0{i}": (f"政协{i}号", ZX, "", True) for i in range(1, 6)},
}
# From the openssl positions (tests/jobs/test_draw_method.py): 5 seats → 人大代表 3, 政协委员 2.
SEATED = [("RD06", RD), ("RD01", RD), ("RD05", RD), ("ZX01", ZX), ("ZX02", ZX)]
RESERVE = {RD: ["RD03", "RD02", "RD04"], ZX: ["ZX05", "ZX04", "ZX03"]}


# ---- helpers ------------------------------------------------------------------------------------


def write_pool(tmp_path: Path, members: Mapping[str, tuple[str, str, str, bool]]) -> Path:
    path = tmp_path / "pool.csv"
    rows = "".join(
        f"{mid},{name},{group},{conflicts},{1 if active else 0}\n"
        for mid, (name, group, conflicts, active) in members.items()
    )
    path.write_text("id,name,group,conflicts,active\n" + rows, encoding="utf-8")
    return path


def setup_pool(
    cli: Cli,
    tmp_path: Path,
    members: Mapping[str, tuple[str, str, str, bool]] = MEMBERS,
    rounds: tuple[str, ...] = (ROUND,),
) -> None:
    units = tmp_path / "units.csv"
    units.write_text("code,name,system\nU1,立案庭,法院\nU2,城关派出所,公安局\n", encoding="utf-8")
    cli("import", "units", str(units))
    cli("import", "pool", str(write_pool(tmp_path, members)))
    for rid in rounds:
        # The main round has a window, so ballots can be ingested into it.
        window = ("--opens", "2026-10-01", "--closes", "2026-10-31") if rid == ROUND else ()
        cli("round", "create", rid, "--kind", "monthly", *window)


def announce_and_draw(cli: Cli, tmp_path: Path) -> dict:
    setup_pool(cli, tmp_path)
    cli("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    return cli.json("draw", ROUND, "--seed", SEED)


@contextmanager
def db(cli: Cli) -> Iterator[Session]:
    engine = make_engine(cli.db)
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


def written(cli: Cli) -> dict[str, object]:
    """What the draw commands have written: draw rows by status, seats by status, audit actions."""
    with db(cli) as s:
        return {
            "draws": sorted(s.scalars(select(Draw.status)).all()),
            "seats": sorted(s.scalars(select(Seat.status)).all()),
            "holders": s.scalar(select(func.count()).select_from(SeatHolder)),
            "audit": [
                a
                for a in s.scalars(select(AuditEntry.action).order_by(AuditEntry.id))
                if a.startswith("draw.")
            ],
        }


def tokens_of(data: dict) -> dict[str, str]:
    return {s["evaluator"]: s["token"] for s in data["seats"]}


def token_bits(token: str) -> float:
    """Entropy of a token drawn uniformly from letters and digits (what the store issues)."""
    assert re.fullmatch(r"[0-9A-Za-z]+", token), token
    return len(token) * math.log2(62)


def ingest(cli: Cli, tmp_path: Path, ballots: dict[str, str]) -> str:
    """Ingest canonical ballots (response id -> token), each answering U1 and U2."""
    path = tmp_path / "ballots.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "id": rid,
                    "token": t,
                    "submitted_at": AT,
                    "answers": {"U1": "满意", "U2": "基本满意"},
                },
                ensure_ascii=False,
            )
            + "\n"
            for rid, t in ballots.items()
        ),
        encoding="utf-8",
    )
    return cli("ingest", ROUND, str(path))


def ballot_statuses(cli: Cli) -> dict[str, tuple[str, str | None]]:
    with db(cli) as s:
        return {b.response_id: (b.status, b.reason) for b in s.scalars(select(Ballot))}


def verify(cli: Cli, ok: bool) -> str:
    return cli("draw", "verify", ROUND, ok=ok)


# ---- announce and draw --------------------------------------------------------------------------


def test_announce_prints_the_fingerprint_and_seats_per_group(cli: Cli, tmp_path: Path) -> None:
    members = {**MEMBERS, "RD07": ("人大7号", RD, "", False)}  # inactive: not in the pool
    setup_pool(cli, tmp_path, members)
    # The documented serialisation, built by hand for this pool.
    text = (
        "pingyi-pool-v1\nround\t2026-10\nseats\t5\n"
        f"group\t{RD}\t6\t-\ngroup\t{ZX}\t5\t-\n"
        + "".join(f"member\t{RD}\tRD0{i}\n" for i in range(1, 7))
        + "".join(f"member\t{ZX}\tZX0{i}\n" for i in range(1, 6))
    )
    fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()
    out = cli("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    assert fingerprint in out
    assert "快乐8 2026-10-20" in out and "双色球 2026-10-20" in out
    assert "hmac-sha256-v1" in out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    # group, active, eligible, seats, cycle
    assert lines[RD][1:5] == ["6", "6", "3", "1"]
    assert lines[ZX][1:5] == ["5", "5", "2", "1"]
    assert "RD07" not in out
    with db(cli) as s:
        d = s.scalars(select(Draw)).one()
        assert (d.status, d.pool_sha256, d.sources, d.seats) == (
            "announced",
            fingerprint,
            ["快乐8 2026-10-20", "双色球 2026-10-20"],
            5,
        )
        assert d.seed is None and d.result is None
    assert written(cli)["seats"] == []
    assert written(cli)["audit"] == ["draw.announce"]


def test_announce_json_and_a_tie_announced_as_undecided(cli: Cli, tmp_path: Path) -> None:
    # 4 seats over 5 + 5 + 3: 人大代表 and 乡村干部 tie for the last seat (see test_draw.py).
    members = {
        **{f"RD0{i}": (f"人大{i}", RD, "", True) for i in range(1, 6)},
        **{f"XC0{i}": (f"乡村{i}", XC, "", True) for i in range(1, 6)},
        **{f"ZX0{i}": (f"政协{i}", ZX, "", True) for i in range(1, 4)},
    }
    setup_pool(cli, tmp_path, members)
    data = cli.json("draw", "announce", ROUND, "--seats", "4", "--sources", "快乐8；双色球")
    assert data["round"] == ROUND and data["method"] == "hmac-sha256-v1"
    assert data["sources"] == ["快乐8", "双色球"]
    assert data["allocation"]["fixed"] == {RD: 1, XC: 1, ZX: 1}
    assert sorted(data["allocation"]["tied"]) == sorted([RD, XC])
    assert data["allocation"]["tied_seats"] == 1
    snapshot = PoolSnapshot.from_dict(data["pool"])
    assert pool_sha256(snapshot) == data["pool_sha256"]
    # HMAC(K, "2026-10|人大代表") = 15a5… < HMAC(K, "2026-10|乡村干部") = 739f… (openssl).
    drawn = cli.json("draw", ROUND, "--seed", "9319./2.5.8.10.12./")
    assert Counter(s["group"] for s in drawn["seats"]) == {RD: 2, XC: 1, ZX: 1}
    assert "match" in verify(cli, ok=True)


def test_draw_prints_the_spec_json_and_panel_show_agrees(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path)
    announced = cli.json("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    data = cli.json("draw", ROUND, "--seed", SEED)
    assert set(data) == {"round", "method", "seed", "key", "pool_sha256", "seats", "reserve"}
    assert (data["round"], data["method"], data["seed"]) == (ROUND, "hmac-sha256-v1", SEED)
    assert data["key"] == K_HEX
    assert data["pool_sha256"] == announced["pool_sha256"]
    assert [(s["evaluator"], s["group"]) for s in data["seats"]] == SEATED
    assert all(set(s) == {"evaluator", "group", "token"} for s in data["seats"])
    assert data["reserve"] == RESERVE
    tokens = [s["token"] for s in data["seats"]]
    assert len(set(tokens)) == len(tokens)
    assert all(token_bits(t) >= 128 for t in tokens)

    shown = cli.json("panel", "show", ROUND)
    for field in ("round", "method", "seed", "key", "pool_sha256", "seats", "reserve"):
        assert shown[field] == data[field], field
    # The plain-text form shows the same tokens.
    text = cli("panel", "show", ROUND)
    assert all(t in text for t in tokens)


def test_one_step_draw_with_seats_needs_no_announcement(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path)
    data = cli.json("draw", ROUND, "--numbers", "9319; 12 8 10 2 5", "--seats", "5")
    assert data["seed"] == SEED and data["key"] == K_HEX
    assert [(s["evaluator"], s["group"]) for s in data["seats"]] == SEATED
    assert data["reserve"] == RESERVE
    assert written(cli)["audit"] == ["draw.announce", "draw.draw"]
    assert "match" in verify(cli, ok=True)


def test_draw_without_announcement_or_seats_is_refused(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path)
    out = cli("draw", ROUND, "--seed", SEED, ok=False)
    assert "no announcement" in out and "--seats" in out
    assert written(cli) == {"draws": [], "seats": [], "holders": 0, "audit": []}


def test_plain_text_draw_output_lists_seats_and_reserves(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path)
    cli("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    out = cli("draw", ROUND, "--seed", SEED)
    assert K_HEX in out and SEED in out
    assert f"reserve {RD}: RD03 RD02 RD04" in out
    seated_lines = [line.split("\t")[:2] for line in out.splitlines() if line.count("\t") == 2]
    assert [tuple(x) for x in seated_lines] == SEATED


def test_rfc3797_method_reproduces_the_rfc_example_end_to_end(cli: Cli, tmp_path: Path) -> None:
    # 25 members R01..R25 (ids sort in the RFC's list order), in two interleaved groups.
    members = {f"R{i:02d}": (f"成员{i}", RD if i % 2 else ZX, "", True) for i in range(1, 26)}
    setup_pool(cli, tmp_path, members)
    cli(
        "draw", "announce", ROUND, "--seats", "10", "--method", "rfc3797",
        "--sources", "A 2004-01-01; B 2004-01-02; C 2004-01-03",
    )  # fmt: skip
    data = cli.json("draw", ROUND, "--numbers", "9319; 2 5 12 8 10; 9 18 26 34 41 45")
    assert data["method"] == "rfc3797" and data["seed"] == RFC_KEY
    assert [s["evaluator"] for s in data["seats"]] == [f"R{p:02d}" for p in RFC_ORDER[:10]]
    assert all(s["group"] == (RD if int(s["evaluator"][1:]) % 2 else ZX) for s in data["seats"])
    # The alternates continue the RFC's order, per group.
    alternates = [f"R{p:02d}" for p in RFC_ORDER[10:]]
    assert data["reserve"][RD][:3] == [m for m in alternates if int(m[1:]) % 2][:3]
    assert data["reserve"][ZX][:3] == [m for m in alternates if not int(m[1:]) % 2][:3]
    assert "match" in verify(cli, ok=True)


def test_rfc3797_one_step_draw(cli: Cli, tmp_path: Path) -> None:
    members = {f"R{i:02d}": (f"成员{i}", RD, "", True) for i in range(1, 26)}
    setup_pool(cli, tmp_path, members)
    data = cli.json("draw", ROUND, "--seed", RFC_KEY, "--seats", "16", "--method", "rfc3797")
    assert [s["evaluator"] for s in data["seats"]] == [f"R{p:02d}" for p in RFC_ORDER]


# ---- verify ---------------------------------------------------------------------------------------


def test_verify_matches_an_untouched_draw(cli: Cli, tmp_path: Path) -> None:
    announce_and_draw(cli, tmp_path)
    assert "match" in verify(cli, ok=True)
    data = cli.json("draw", "verify", ROUND)
    assert data == {"round": ROUND, "match": True, "differences": []}


def _seat_of(s: Session, member: str) -> SeatHolder:
    return s.scalars(
        select(SeatHolder)
        .join(Seat, Seat.id == SeatHolder.seat_id)
        .where(SeatHolder.member_id == member, Seat.status == "active")
    ).one()


def _move_to_group(s: Session, member: str, group: str) -> None:
    s.get(Member, member).group_id = s.scalars(select(Group.id).where(Group.name == group)).one()


def _tamper_group(s: Session) -> None:
    _move_to_group(s, "RD06", ZX)  # a seated member's group


def _tamper_reserve_group(s: Session) -> None:
    _move_to_group(s, "ZX03", RD)  # an unseated eligible member's group


def _tamper_inactive(s: Session) -> None:
    s.get(Member, "ZX01").active = False


def _tamper_holder(s: Session) -> None:
    _seat_of(s, "RD06").member_id = "RD03"


def _tamper_seat_group(s: Session) -> None:
    s.get(Seat, _seat_of(s, "ZX02").seat_id).group_name = RD


def _tamper_seat_status(s: Session) -> None:
    s.get(Seat, _seat_of(s, "RD01").seat_id).status = "void"


def _tamper_seed(s: Session) -> None:
    s.scalars(select(Draw)).one().seed = "9319./2.5.8.10.13./"


def _tamper_snapshot(s: Session) -> None:
    d = s.scalars(select(Draw)).one()
    pool = json.loads(json.dumps(d.pool))
    pool["groups"][0]["eligible"].remove("RD04")
    d.pool = pool


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (_tamper_group, f"pool member RD06: group {RD} in the draw record, {ZX} in the pool"),
        (_tamper_reserve_group, "pool member ZX03"),
        (_tamper_inactive, "pool member ZX01: active in the draw record, inactive in the pool"),
        (_tamper_holder, "seat of RD06"),
        (_tamper_seat_group, "seat of ZX02"),
        (_tamper_seat_status, "seat of RD01"),
        (_tamper_seed, "draw table, seed"),
        (_tamper_snapshot, "draw table, pool snapshot"),
    ],
    ids=[
        "pool-group",
        "pool-reserve-group",
        "pool-inactive",
        "seat-holder",
        "seat-group",
        "seat-status",
        "draw-seed",
        "draw-snapshot",
    ],
)
def test_verify_names_a_change_in_the_database(
    cli: Cli, tmp_path: Path, tamper, named: str
) -> None:
    announce_and_draw(cli, tmp_path)
    with db(cli) as s:
        tamper(s)
    out = verify(cli, ok=False)
    assert "DIFFERENT" in out
    assert named in out
    data = json.loads(cli("draw", "verify", ROUND, "--json", ok=False))
    assert data["match"] is False
    assert any(named in d for d in data["differences"])


def test_verify_names_an_inactive_member_made_active(cli: Cli, tmp_path: Path) -> None:
    members = {**MEMBERS, "RD07": ("人大7号", RD, "", False)}
    setup_pool(cli, tmp_path, members)
    cli("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    cli("draw", ROUND, "--seed", SEED)
    with db(cli) as s:
        s.get(Member, "RD07").active = True
    out = verify(cli, ok=False)
    assert "RD07" in out


def test_verify_names_a_changed_seat_token(cli: Cli, tmp_path: Path) -> None:
    announce_and_draw(cli, tmp_path)
    with db(cli) as s:
        s.get(Seat, _seat_of(s, "RD06").seat_id).token = "known-to-an-insider-0123456789abcdef"
    assert "RD06" in verify(cli, ok=False)


def test_verify_names_a_changed_replacement(cli: Cli, tmp_path: Path) -> None:
    announce_and_draw(cli, tmp_path)
    cli("draw", "replace", ROUND, "RD01", "--reason", "因病住院")
    assert "match" in verify(cli, ok=True)
    with db(cli) as s:
        _seat_of(s, "RD03").member_id = "RD04"  # the replacement seat, given to someone else
    out = verify(cli, ok=False)
    assert "seat of RD03" in out and "seat of RD04" in out


def test_verify_names_a_replacement_missing_from_the_database(cli: Cli, tmp_path: Path) -> None:
    announce_and_draw(cli, tmp_path)
    cli("draw", "replace", ROUND, "RD01", "--reason", "因病住院")
    with db(cli) as s:
        old = s.scalars(select(Seat).where(Seat.status == "replaced")).one()
        old.status = "active"  # the replaced seat votes again
    out = verify(cli, ok=False)
    assert "seat of RD01" in out


def test_verify_says_when_the_audit_log_itself_was_changed(cli: Cli, tmp_path: Path) -> None:
    announce_and_draw(cli, tmp_path)
    with db(cli) as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "draw.draw")).one()
        detail = json.loads(json.dumps(entry.detail))
        detail["forced"] = True  # a field the recomputation does not look at
        entry.detail = detail
        entry_id = entry.id
    out = verify(cli, ok=False)
    assert f"audit log: the hash chain is broken at entry {entry_id}" in out


def test_verify_says_when_the_recorded_lists_were_rewritten(cli: Cli, tmp_path: Path) -> None:
    announce_and_draw(cli, tmp_path)
    with db(cli) as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "draw.draw")).one()
        detail = json.loads(json.dumps(entry.detail))
        detail["seated"][0] = [RD, "RD03"]
        entry.detail = detail
    out = verify(cli, ok=False)
    assert "hash chain is broken" in out
    assert "seated: position 1 is" in out


def test_verify_of_a_round_without_a_draw_is_an_error(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path)
    assert "no draw" in verify(cli, ok=False)
    assert "unknown round" in cli("draw", "verify", "2099-01", ok=False)


# ---- replace ------------------------------------------------------------------------------------


def test_replace_takes_the_reserve_in_order_and_revokes_the_old_token(
    cli: Cli, tmp_path: Path
) -> None:
    data = announce_and_draw(cli, tmp_path)
    old = tokens_of(data)
    out = cli("draw", "replace", ROUND, "RD01", "--reason", "因病住院")
    assert "RD01 replaced by RD03" in out
    shown = cli.json("panel", "show", ROUND)
    now = tokens_of(shown)
    assert set(now) == {"RD06", "RD03", "RD05", "ZX01", "ZX02"}
    assert now["RD03"] in out  # the new seat's token is printed once, for the office
    assert now["RD03"] not in old.values() and token_bits(now["RD03"]) >= 128
    assert {(s["evaluator"], s["status"]) for s in shown["inactive_seats"]} == {
        ("RD01", "replaced")
    }

    # The old token no longer counts; the new one does.
    report = ingest(cli, tmp_path, {"old": old["RD01"], "new": now["RD03"], "other": old["RD06"]})
    assert "rejected old" in report
    statuses = ballot_statuses(cli)
    assert statuses["old"][0] == "rejected"
    assert "replaced" in statuses["old"][1] and "no longer votes" in statuses["old"][1]
    assert statuses["new"][0] == "accepted" and statuses["other"][0] == "accepted"

    # A second replacement in the same group takes the next member of the reserve.
    assert "RD05 replaced by RD02" in cli("draw", "replace", ROUND, "RD05", "--reason", "出差")
    assert "ZX01 replaced by ZX05" in cli("draw", "replace", ROUND, "ZX01", "--reason", "辞职")
    with db(cli) as s:
        records = [
            e.detail
            for e in s.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "draw.replace")
                .order_by(AuditEntry.id)
            )
        ]
    assert [(r["member"], r["replacement"], r["group"], r["reason"]) for r in records] == [
        ("RD01", "RD03", RD, "因病住院"),
        ("RD05", "RD02", RD, "出差"),
        ("ZX01", "ZX05", ZX, "辞职"),
    ]
    assert all(old["RD01"] not in json.dumps(r) for r in records)
    assert "match" in verify(cli, ok=True)


def test_replacing_a_replacement_still_verifies(cli: Cli, tmp_path: Path) -> None:
    announce_and_draw(cli, tmp_path)
    assert "RD01 replaced by RD03" in cli("draw", "replace", ROUND, "RD01", "--reason", "因病")
    assert "RD03 replaced by RD02" in cli("draw", "replace", ROUND, "RD03", "--reason", "出差")
    assert set(tokens_of(cli.json("panel", "show", ROUND))) == {
        "RD06",
        "RD02",
        "RD05",
        "ZX01",
        "ZX02",
    }
    assert "match" in verify(cli, ok=True)


def test_replace_refusals(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path)
    assert "no draw" in cli("draw", "replace", ROUND, "RD01", "--reason", "x", ok=False)
    cli("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    assert "no draw" in cli("draw", "replace", ROUND, "RD01", "--reason", "x", ok=False)
    cli("draw", ROUND, "--seed", SEED)
    before = written(cli)
    assert "RD03" in cli("draw", "replace", ROUND, "RD03", "--reason", "x", ok=False)  # reserve
    assert "reason" in cli("draw", "replace", ROUND, "RD01", "--reason", "  ", ok=False)
    assert written(cli) == before


def test_replace_when_the_reserve_is_used_up(cli: Cli, tmp_path: Path) -> None:
    # 人大代表 6 members, 5 seats with quotas 5 + 0 → a reserve of one.
    config = tmp_path / "pingyi.toml"
    config.write_text(f'[draw]\nquotas = {{"{RD}" = 5, "{ZX}" = 0}}\n', encoding="utf-8")
    cli = Cli(cli.db, config=config)
    setup_pool(cli, tmp_path)
    data = cli.json("draw", ROUND, "--seed", SEED, "--seats", "5")
    # openssl order of 人大代表: RD06 RD01 RD05 RD03 RD02 | RD04.
    assert [s["evaluator"] for s in data["seats"]] == ["RD06", "RD01", "RD05", "RD03", "RD02"]
    assert data["reserve"] == {RD: ["RD04"], ZX: ["ZX01", "ZX02", "ZX05", "ZX04", "ZX03"]}
    assert "replaced by RD04" in cli("draw", "replace", ROUND, "RD06", "--reason", "x")
    before = written(cli)
    out = cli("draw", "replace", ROUND, "RD01", "--reason", "x", ok=False)
    assert "reserve list is used up" in out
    assert written(cli) == before
    assert "match" in verify(cli, ok=True)


# ---- rotation ---------------------------------------------------------------------------------


def test_rotation_without_replacement_over_consecutive_rounds(cli: Cli, tmp_path: Path) -> None:
    # 人大代表: 5 active + RD06 inactive; 政协委员: 4, each with conflicts. 4 seats:
    # 4·5/9 = 2.22, 4·4/9 = 1.78 → 2 + 1, the last seat to 政协委员 → 2 and 2 every round.
    members = {
        **{f"RD0{i}": (f"人大{i}", RD, "", True) for i in range(1, 6)},
        "RD06": ("人大6", RD, "", False),
        **{f"ZX0{i}": (f"政协{i}", ZX, "U1;U2", True) for i in range(1, 5)},
    }
    rounds = tuple(f"2026-0{m}" for m in range(1, 7))
    setup_pool(cli, tmp_path, members, rounds)
    active = {RD: {f"RD0{i}" for i in range(1, 6)}, ZX: {f"ZX0{i}" for i in range(1, 5)}}
    seats = {RD: 2, ZX: 2}
    served: dict[str, set[str]] = {RD: set(), ZX: set()}
    cycle = {RD: 1, ZX: 1}
    restarts = {RD: [], ZX: []}
    for n, rid in enumerate(rounds, start=1):
        announced = cli.json("draw", "announce", rid, "--seats", "4")
        pool = {g["name"]: g for g in announced["pool"]["groups"]}
        drawn = cli.json("draw", rid, "--seed", f"{n}.{n + 40}./")
        seated = {g: {s["evaluator"] for s in drawn["seats"] if s["group"] == g} for g in seats}
        for g in seats:
            # The model of SPEC §3: the unseated of this cycle, unless too few remain.
            unserved = active[g] - served[g]
            restarted = len(unserved) < seats[g]
            if restarted:
                served[g], unserved = set(), set(active[g])
                cycle[g] += 1
                restarts[g].append(n)
            assert pool[g]["eligible"] == sorted(unserved), (rid, g)
            assert (pool[g]["restarted"], pool[g]["cycle"]) == (restarted, cycle[g]), (rid, g)
            assert len(seated[g]) == seats[g]
            assert seated[g] <= unserved  # nobody seated twice within a cycle
            assert "RD06" not in pool[g]["eligible"] and "RD06" not in seated[g]
            served[g] |= seated[g]
        if n == 1:
            assert pool[ZX]["eligible"] == ["ZX01", "ZX02", "ZX03", "ZX04"]  # conflicts stay
    # 5 members, 2 seats: rounds 1–2 seat 4, one left < 2 → restart in round 3 (and 5).
    # 4 members, 2 seats: rounds 1–2 seat all 4 → restart in round 3 (and 5).
    assert restarts == {RD: [3, 5], ZX: [3, 5]}


def test_a_forced_redraw_does_not_count_toward_rotation(cli: Cli, tmp_path: Path) -> None:
    rounds = ("2026-09", ROUND)
    setup_pool(cli, tmp_path, MEMBERS, rounds)
    cli("draw", "2026-09", "--seed", "1./", "--seats", "5")
    redone = cli.json("draw", "2026-09", "--seed", SEED, "--seats", "5", "--force")
    served = {s["evaluator"] for s in redone["seats"]}
    announced = cli.json("draw", "announce", ROUND, "--seats", "5")
    eligible = {m for g in announced["pool"]["groups"] for m in g["eligible"]}
    assert eligible == set(MEMBERS) - served
    # Nor toward the fairness report: only the live draw's seats have served.
    stats = cli.json("draw", "stats")
    assert stats["rounds"] == ["2026-09"] and stats["draws_total"] == 1
    counts = {m: n for g in stats["groups"].values() for m, n in g["counts"].items()}
    assert {m for m, n in counts.items() if n} == served and set(counts.values()) == {0, 1}


# ---- stats ------------------------------------------------------------------------------------


def test_stats_over_a_simulated_year(cli: Cli, tmp_path: Path) -> None:
    # 60 members, 10 seats: 10·25/60 = 4.17, 10·20/60 = 3.33, 10·15/60 = 2.5 → 4 + 3 + 2, the
    # last seat to 乡村干部 (0.5) → 4, 3, 3 every round.
    sizes = {RD: 25, ZX: 20, XC: 15}
    prefix = {RD: "RD", ZX: "ZX", XC: "XC"}
    members = {
        f"{prefix[g]}{i:02d}": (f"{g}{i}", g, "U1" if i == 1 else "", True)
        for g, n in sizes.items()
        for i in range(1, n + 1)
    }
    rounds = tuple(f"2025-{m:02d}" for m in range(1, 13))
    setup_pool(cli, tmp_path, members, rounds)
    seats = {RD: 4, ZX: 3, XC: 3}
    counts: Counter = Counter()
    eligible_model: list[dict[str, int]] = []
    served = {g: set() for g in sizes}
    for n, rid in enumerate(rounds, start=1):
        this = {}
        for g in sizes:
            left = sizes[g] - len(served[g])
            if left < seats[g]:
                served[g], left = set(), sizes[g]
            this[g] = left
        eligible_model.append(this)
        drawn = cli.json("draw", rid, "--numbers", f"{n} {n * 7 % 80}; {n * 3}", "--seats", "10")
        for s in drawn["seats"]:
            counts[s["evaluator"]] += 1
            served[s["group"]].add(s["evaluator"])
        assert Counter(s["group"] for s in drawn["seats"]) == seats

    stats = cli.json("draw", "stats")
    assert stats["rounds"] == list(rounds)
    assert stats["draws_total"] == 12
    for g, n in sizes.items():
        entry = stats["groups"][g]
        assert entry["members"] == n
        assert entry["counts"] == {m: counts[m] for m in members if members[m][1] == g}
        assert sum(entry["counts"].values()) == 12 * seats[g]
        assert (entry["min"], entry["max"]) == (
            min(entry["counts"].values()),
            max(entry["counts"].values()),
        )
        cycles = max(r["groups"][g]["cycle"] for r in stats["per_round"])
        # At most one more service per cycle (the last one possibly incomplete).
        assert entry["max"] - entry["min"] <= cycles, (g, cycles)
    # 人大代表: 25 = 6·4 + 1 → restarts in round 7; 乡村干部: 15 = 5·3 → restarts in 6 and 11.
    assert [r["groups"][RD]["cycle"] for r in stats["per_round"]] == [1] * 6 + [2] * 6
    assert [r["groups"][XC]["cycle"] for r in stats["per_round"]] == [1] * 5 + [2] * 5 + [3] * 2
    for r, model in zip(stats["per_round"], eligible_model, strict=True):
        for g in sizes:
            v = r["groups"][g]
            assert v["eligible"] == model[g], (r["round"], g)
            assert v["seats"] == seats[g] and v["active"] == sizes[g]
            assert v["probability"] == pytest.approx(seats[g] / model[g], abs=5e-5)

    last = cli.json("draw", "stats", "--rounds", "3")
    assert last["rounds"] == list(rounds[-3:])
    assert [r["round"] for r in last["per_round"]] == list(rounds[-3:])
    text = cli("draw", "stats")
    assert "12 drawn rounds" in text and RD in text


# ---- links and logs -----------------------------------------------------------------------------


TEMPLATE = "https://survey.example/s/1?round=2026-10&token={token}"


def read_links(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["evaluator", "name", "group", "link"]
        return list(reader)


def test_panel_links_fill_the_template_with_each_token(cli: Cli, tmp_path: Path) -> None:
    data = announce_and_draw(cli, tmp_path)
    cli("draw", "replace", ROUND, "ZX02", "--reason", "出国")
    tokens = tokens_of(cli.json("panel", "show", ROUND))
    out_file = tmp_path / "links.csv"
    out = cli("panel", "links", ROUND, "--template", TEMPLATE, "-o", str(out_file))
    assert "5 links" in out
    assert not any(t in out for t in tokens.values())
    rows = read_links(out_file)
    assert {r["evaluator"] for r in rows} == {"RD06", "RD01", "RD05", "ZX01", "ZX05"}
    for r in rows:
        name, group, _, _ = MEMBERS[r["evaluator"]]
        assert (r["name"], r["group"]) == (name, group)
        assert r["link"] == TEMPLATE.replace("{token}", quote(tokens[r["evaluator"]], safe=""))
    assert tokens_of(data)["ZX02"] not in out_file.read_text(encoding="utf-8-sig")


def test_panel_links_without_token_placeholder_is_refused(cli: Cli, tmp_path: Path) -> None:
    announce_and_draw(cli, tmp_path)
    out_file = tmp_path / "links.csv"
    out = cli(
        "panel", "links", ROUND, "--template", "https://x/s/1?t=", "-o", str(out_file), ok=False
    )
    assert "{token}" in out
    assert not out_file.exists()
    out = cli("panel", "links", "2099-01", "--template", TEMPLATE, "-o", str(out_file), ok=False)
    assert "unknown round" in out and not out_file.exists()


def test_no_token_ever_reaches_the_logs(
    cli: Cli, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, the root logger at DEBUG
    caplog.set_level(logging.DEBUG, logger="jobs")
    caplog.set_level(logging.DEBUG, logger="service")
    setup_pool(cli, tmp_path)
    cli("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    drawn = cli.json("draw", ROUND, "--seed", SEED)
    cli("draw", "replace", ROUND, "RD01", "--reason", "因病")
    cli("panel", "links", ROUND, "--template", TEMPLATE, "-o", str(tmp_path / "links.csv"))
    cli("draw", "verify", ROUND)
    cli("draw", "stats")
    shown = cli.json("panel", "show", ROUND)
    tokens = set(tokens_of(drawn).values()) | set(tokens_of(shown).values())
    assert len(tokens) == 6
    ingest(cli, tmp_path, {"r1": tokens_of(shown)["RD03"], "r2": tokens_of(drawn)["RD01"]})
    assert any("drew round" in r.getMessage() for r in caplog.records)  # the flow does log
    logged = caplog.text + "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert sorted(t for t in tokens if t in logged) == []


# ---- bad input: a clear error and nothing half-written ---------------------------------------------


def test_unknown_round_is_refused_and_nothing_written(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path)
    for args in (
        ("draw", "announce", "2099-01", "--seats", "5"),
        ("draw", "2099-01", "--seed", SEED, "--seats", "5"),
        ("draw", "verify", "2099-01"),
        ("draw", "2099-01", "--seed", SEED),
        ("draw", "replace", "2099-01", "RD01", "--reason", "x"),
    ):
        cli(*args, ok=False)
    assert written(cli) == {"draws": [], "seats": [], "holders": 0, "audit": []}
    for args in (
        ("draw", "announce", "2099-01", "--seats", "5"),
        ("draw", "2099-01", "--seed", SEED, "--seats", "5"),
        ("draw", "verify", "2099-01"),
    ):
        assert "unknown round '2099-01'" in cli(*args, ok=False)


@pytest.mark.parametrize(
    "args",
    [
        ("draw", "2099-01", "--seed", SEED),
        ("draw", "replace", "2099-01", "RD01", "--reason", "x"),
    ],
    ids=["draw", "replace"],
)
def test_unknown_round_is_named_as_unknown(cli: Cli, tmp_path: Path, args: tuple[str, ...]) -> None:
    setup_pool(cli, tmp_path)
    assert "unknown round '2099-01'" in cli(*args, ok=False)


def test_a_drawn_round_is_refused_without_force(cli: Cli, tmp_path: Path) -> None:
    data = announce_and_draw(cli, tmp_path)
    before = written(cli)
    for args in (
        ("draw", ROUND, "--seed", SEED),
        ("draw", ROUND, "--seed", "1./2./"),
        ("draw", ROUND, "--seed", "1./2./", "--seats", "5"),
        ("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES),
    ):
        out = cli(*args, ok=False)
        assert "already drawn" in out and "--force" in out
    assert written(cli) == before
    assert tokens_of(cli.json("panel", "show", ROUND)) == tokens_of(data)


def test_an_announced_round_is_not_announced_again_without_force(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path)
    first = cli.json("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    out = cli("draw", "announce", ROUND, "--seats", "4", ok=False)
    assert "already announced" in out and "--force" in out
    assert written(cli)["draws"] == ["announced"]
    again = cli.json("draw", "announce", ROUND, "--seats", "4", "--force")
    assert again["pool_sha256"] != first["pool_sha256"]
    assert written(cli)["draws"] == ["announced", "void"]
    assert written(cli)["audit"] == ["draw.announce", "draw.void", "draw.announce"]


def test_force_voids_the_old_seats_and_is_recorded(cli: Cli, tmp_path: Path) -> None:
    first = announce_and_draw(cli, tmp_path)
    second = cli.json("draw", ROUND, "--seed", "1./2./", "--seats", "5", "--force")
    assert second["seed"] == "1./2./"
    assert not set(tokens_of(first).values()) & set(tokens_of(second).values())
    state = written(cli)
    assert state["draws"] == ["drawn", "void"]
    assert state["seats"] == ["active"] * 5 + ["void"] * 5
    assert state["audit"] == [
        "draw.announce",
        "draw.draw",
        "draw.void",
        "draw.announce",
        "draw.draw",
    ]
    with db(cli) as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        details = [e.detail for e in entries if e.action.startswith("draw.")]
        live = s.scalars(select(Draw).where(Draw.status == "drawn")).one()
        assert live.forced is True
    assert details[1]["forced"] is False
    assert details[2]["was"] == "drawn" and details[2]["seats"] == 5
    assert details[4]["forced"] is True
    shown = cli.json("panel", "show", ROUND)
    assert tokens_of(shown) == tokens_of(second)
    assert {s["status"] for s in shown["inactive_seats"]} == {"void"}

    old_token = next(iter(tokens_of(first).values()))
    new_token = next(iter(tokens_of(second).values()))
    ingest(cli, tmp_path, {"old": old_token, "new": new_token})
    statuses = ballot_statuses(cli)
    assert statuses["old"][0] == "rejected" and "void" in statuses["old"][1]
    assert statuses["new"][0] == "accepted"
    assert "match" in verify(cli, ok=True)


def test_forced_redraw_reuses_the_published_announcement(cli: Cli, tmp_path: Path) -> None:
    first = announce_and_draw(cli, tmp_path)
    second = cli.json("draw", ROUND, "--seed", "1./2./", "--force")
    assert second["pool_sha256"] == first["pool_sha256"]
    with db(cli) as s:
        live = s.scalars(select(Draw).where(Draw.status == "drawn")).one()
        assert live.sources == ["快乐8 2026-10-20", "双色球 2026-10-20"]


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        ("9319./2.5.12.8.10./", "sorted ascending (12 comes before 8)"),
        ("9319./02.5./", "leading zero"),
        ("9319./2.5.8.10.12.", "must end with '/'"),
        ("9319./2.x./", "unexpected character 'x'"),
        ("9319./", "the seed has 1 sources, the announcement names 2"),
        ("9319./1./2./", "the seed has 3 sources, the announcement names 2"),
    ],
    ids=["unsorted", "leading-zero", "no-final-slash", "letter", "too-few", "too-many"],
)
def test_a_bad_seed_is_refused_and_nothing_written(
    cli: Cli, tmp_path: Path, seed: str, message: str
) -> None:
    setup_pool(cli, tmp_path)
    cli("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    before = written(cli)
    assert message in cli("draw", ROUND, "--seed", seed, ok=False)
    assert (
        written(cli)
        == before
        == {
            "draws": ["announced"],
            "seats": [],
            "holders": 0,
            "audit": ["draw.announce"],
        }
    )


def test_a_bad_seed_in_a_one_step_draw_writes_no_announcement(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path)
    assert "sorted ascending" in cli("draw", ROUND, "--seed", "5.4./", "--seats", "5", ok=False)
    assert "numbers only" in cli("draw", ROUND, "--numbers", "5 x", "--seats", "5", ok=False)
    assert "exactly one of --seed or --numbers" in cli("draw", ROUND, "--seats", "5", ok=False)
    assert written(cli) == {"draws": [], "seats": [], "holders": 0, "audit": []}


def test_more_seats_than_eligible_members_is_refused(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path)
    out = cli("draw", "announce", ROUND, "--seats", "12", ok=False)
    assert "12 seats but only 11 active members" in out
    out = cli("draw", ROUND, "--seed", SEED, "--seats", "12", ok=False)
    assert "12 seats but only 11 active members" in out
    assert "--seats" in cli("draw", "announce", ROUND, "--seats", "0", ok=False)
    assert written(cli) == {"draws": [], "seats": [], "holders": 0, "audit": []}


def test_an_empty_pool_is_refused(cli: Cli, tmp_path: Path) -> None:
    cli("round", "create", ROUND, "--kind", "monthly")
    out = cli("draw", "announce", ROUND, "--seats", "3", ok=False)
    assert "no active members" in out
    assert written(cli) == {"draws": [], "seats": [], "holders": 0, "audit": []}


@pytest.mark.parametrize(
    ("quotas", "message"),
    [
        ({RD: 3, ZX: 1, "群众代表": 1}, "group '群众代表' has no active members but a quota of 1"),
        ({RD: 3, ZX: 1}, "add up to 4 seats, not 5"),
        ({RD: 7, ZX: 0}, f"group '{RD}': 7 seats but only 6"),
    ],
)
def test_bad_quotas_are_refused_and_nothing_written(
    db_url: str, tmp_path: Path, quotas: dict[str, int], message: str
) -> None:
    config = tmp_path / "pingyi.toml"
    table = ", ".join(f'"{g}" = {n}' for g, n in quotas.items())
    config.write_text(f"[draw]\nquotas = {{{table}}}\n", encoding="utf-8")
    cli = Cli(db_url, config=config)
    cli("init")
    setup_pool(cli, tmp_path)
    seats = "7" if RD in quotas and quotas[RD] == 7 else "5"
    assert message in cli("draw", "announce", ROUND, "--seats", seats, ok=False)
    assert message in cli("draw", ROUND, "--seed", SEED, "--seats", seats, ok=False)
    assert written(cli) == {"draws": [], "seats": [], "holders": 0, "audit": []}


def test_fixed_quotas_from_the_rules_file(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "pingyi.toml"
    config.write_text(f'[draw]\nquotas = {{"{RD}" = 1, "{ZX}" = 4}}\n', encoding="utf-8")
    cli = Cli(db_url, config=config)
    cli("init")
    setup_pool(cli, tmp_path)
    announced = cli.json("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    assert {g["name"]: g["quota"] for g in announced["pool"]["groups"]} == {RD: 1, ZX: 4}
    data = cli.json("draw", ROUND, "--seed", SEED)
    # The openssl order, cut at the quotas.
    assert [s["evaluator"] for s in data["seats"]] == ["RD06", "ZX01", "ZX02", "ZX05", "ZX04"]
    assert "match" in verify(cli, ok=True)


def test_the_rules_file_chooses_the_default_method(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "pingyi.toml"
    config.write_text('[draw]\nmethod = "rfc3797"\n', encoding="utf-8")
    cli = Cli(db_url, config=config)
    cli("init")
    members = {f"R{i:02d}": (f"成员{i}", RD, "", True) for i in range(1, 26)}
    setup_pool(cli, tmp_path, members)
    assert cli.json("draw", "announce", ROUND, "--seats", "10")["method"] == "rfc3797"
    data = cli.json("draw", ROUND, "--seed", RFC_KEY)
    assert [s["evaluator"] for s in data["seats"]] == [f"R{p:02d}" for p in RFC_ORDER[:10]]
    config.write_text('[draw]\nmethod = "md5"\n', encoding="utf-8")
    assert "rfc3797" in cli("draw", "stats", ok=False)  # names the methods it knows


def test_method_on_draw_must_match_the_announcement(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path)
    cli("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    before = written(cli)
    out = cli("draw", ROUND, "--seed", SEED, "--method", "rfc3797", ok=False)
    assert "--method rfc3797 differs from the announced method hmac-sha256-v1" in out
    out = cli("draw", ROUND, "--seed", SEED, "--seats", "4", ok=False)
    assert "--seats 4 differs from the announced 5" in out
    assert written(cli) == before
    # The announced method itself is fine to repeat.
    data = cli.json("draw", ROUND, "--seed", SEED, "--method", "hmac-sha256-v1")
    assert [(s["evaluator"], s["group"]) for s in data["seats"]] == SEATED


def test_rfc3797_announced_then_hmac_requested_is_refused(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path)
    cli("draw", "announce", ROUND, "--seats", "5", "--method", "rfc3797", "--sources", SOURCES)
    out = cli("draw", ROUND, "--seed", SEED, "--method", "hmac-sha256-v1", ok=False)
    assert "differs from the announced method rfc3797" in out
    assert written(cli)["seats"] == []


def test_a_designated_panel_round_cannot_be_drawn(cli: Cli, tmp_path: Path) -> None:
    setup_pool(cli, tmp_path)
    panel = tmp_path / "panel.txt"
    panel.write_text("RD01\nZX01\n", encoding="utf-8")
    cli("panel", "set", ROUND, str(panel))
    before = written(cli)
    out = cli("draw", "announce", ROUND, "--seats", "5", ok=False)
    assert "designated panel" in out
    assert written(cli) == before
