"""Replacing a seat from the reserve, rotation across consecutive rounds (checked against a
small model of docs/draw.md written here) and the fairness statistics, through the ``pingyi`` CLI on
SQLite and PostgreSQL (issue #3)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from service.models.audit import AuditEntry
from tests.conftest import Cli
from tests.service.draw_setup import (
    AT,
    MEMBERS,
    RD,
    ROUND,
    SEED,
    SOURCES,
    XC,
    ZX,
    announce_and_draw,
    ballot_statuses,
    db,
    ingest,
    setup_pool,
    token_bits,
    tokens_of,
    verify,
    written,
)

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
            # The model of docs/draw.md: the unseated of this cycle, unless too few remain.
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


def test_a_ballot_in_before_its_seat_was_replaced_stops_counting(cli: Cli, tmp_path: Path) -> None:
    """RD01 answered, then could not serve and was replaced: the seat is RD03's now, so RD01's
    ballot no longer counts (docs/rules.md), in the stored statuses as in the ranking's
    numbers, whichever way the ranking reads them. It used to stay "accepted", and the
    ranking from grouped counts went on counting its votes."""
    data = announce_and_draw(cli, tmp_path)
    old = tokens_of(data)
    path = tmp_path / "in.jsonl"
    lines = [
        {"id": f"b-{m}", "token": t, "submitted_at": AT,
         "answers": {"U1": "不满意" if m == "RD01" else "满意", "U2": "满意"}}
        for m, t in old.items()
    ]  # fmt: skip
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    cli("ingest", ROUND, str(path))
    assert ballot_statuses(cli)["b-RD01"][0] == "accepted"
    before = {u["code"]: u for u in cli.json("rank", ROUND)["units"]}
    cli("draw", "replace", ROUND, "RD01", "--reason", "因病住院")
    after = cli.json("rank", ROUND)
    assert after["participation"]["valid_ballots"] == len(old) - 1
    units = {u["code"]: u for u in after["units"]}
    # RD06 is recused from U1 (a conflict): 4 votes on it before, 3 after.
    assert before["U1"]["votes"] == len(old) - 1 and units["U1"]["votes"] == len(old) - 2
    assert units["U1"]["score"] == 100.0  # the 不满意 was RD01's
    assert ballot_statuses(cli)["b-RD01"][0] == "superseded"
