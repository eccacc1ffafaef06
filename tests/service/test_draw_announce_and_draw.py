"""The panel draw through the ``pingyi`` CLI on SQLite and PostgreSQL: announce, then draw
(hmac-sha256-v1 and RFC 3797), and what each prints (docs/draw.md; issue #3)."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from jobs.draw.method import PoolSnapshot, pool_sha256
from service.models.rounds import Draw
from tests.conftest import Cli
from tests.service.draw_setup import (
    K_HEX,
    MEMBERS,
    RD,
    RESERVE,
    RFC_KEY,
    RFC_ORDER,
    ROUND,
    SEATED,
    SEED,
    SOURCES,
    XC,
    ZX,
    db,
    setup_pool,
    token_bits,
    verify,
    written,
)

# ---- announce and draw --------------------------------------------------------------------------


def test_announce_prints_the_fingerprint_and_seats_per_group(cli: Cli, tmp_path: Path) -> None:
    members = {**MEMBERS, "RD07": ("人大7号", RD, "", False)}  # inactive: never eligible
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
    # RD07 is shown, as inactive (what eligibility was derived from), never as eligible.
    eligible = out.split("eligible members:\n")[1].split("inactive members")[0]
    assert "RD07" not in eligible and f"  {RD}: RD01 RD02 RD03 RD04 RD05 RD06\n" in eligible
    assert out.endswith(f"inactive members (never eligible):\n  {RD}: RD07\n")
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


def test_rfc3797_ignores_quotas_that_do_not_add_up(cli: Cli, tmp_path: Path) -> None:
    # Issue #9, item 17: rfc3797 ignores groups, so [draw] quotas can neither refuse it nor
    # shape it. The same quotas refuse an hmac-sha256-v1 announcement.
    config = tmp_path / "pingyi.toml"
    config.write_text(f'[draw]\nquotas = {{"{RD}" = 3}}\n', encoding="utf-8")
    cli = Cli(cli.db, config=config)
    setup_pool(cli, tmp_path)
    out = cli("draw", "announce", ROUND, "--seats", "5", ok=False)
    assert "the quotas add up to 3 seats, not 5" in out
    announced = cli.json("draw", "announce", ROUND, "--seats", "5", "--method", "rfc3797")
    assert [g["quota"] for g in announced["pool"]["groups"]] == [None, None]
    assert "rfc3797 draws from one list" in cli(
        "draw", "announce", ROUND, "--seats", "5", "--method", "rfc3797", "--force"
    )
    data = cli.json("draw", ROUND, "--seed", SEED)
    assert len(data["seats"]) == 5 and data["method"] == "rfc3797"
    assert "match" in verify(cli, ok=True)
