"""The draw CLI's links and logs, and bad input: a clear error and nothing half-written, on
SQLite and PostgreSQL (docs/draw.md; issue #3)."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

from service.models.audit import AuditEntry
from service.models.rounds import Draw
from tests.conftest import Cli
from tests.service.draw_setup import (
    MEMBERS,
    RD,
    RFC_KEY,
    RFC_ORDER,
    ROUND,
    SEATED,
    SEED,
    SOURCES,
    ZX,
    announce_and_draw,
    ballot_statuses,
    db,
    ingest,
    setup_pool,
    tokens_of,
    verify,
    written,
)

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
    units = tmp_path / "units.csv"
    units.write_text("code,name,system\nU1,立案庭,法院\n", encoding="utf-8")
    cli("import", "units", str(units))
    cli("round", "create", ROUND, "--kind", "monthly", "--opens", "2026-10-01",
        "--closes", "2026-10-31")  # fmt: skip
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
    migrated_db_url: str, tmp_path: Path, quotas: dict[str, int], message: str
) -> None:
    config = tmp_path / "pingyi.toml"
    table = ", ".join(f'"{g}" = {n}' for g, n in quotas.items())
    config.write_text(f"[draw]\nquotas = {{{table}}}\n", encoding="utf-8")
    cli = Cli(migrated_db_url, config=config)
    setup_pool(cli, tmp_path)
    seats = "7" if RD in quotas and quotas[RD] == 7 else "5"
    assert message in cli("draw", "announce", ROUND, "--seats", seats, ok=False)
    assert message in cli("draw", ROUND, "--seed", SEED, "--seats", seats, ok=False)
    assert written(cli) == {"draws": [], "seats": [], "holders": 0, "audit": []}


def test_fixed_quotas_from_the_rules_file(migrated_db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "pingyi.toml"
    config.write_text(f'[draw]\nquotas = {{"{RD}" = 1, "{ZX}" = 4}}\n', encoding="utf-8")
    cli = Cli(migrated_db_url, config=config)
    setup_pool(cli, tmp_path)
    announced = cli.json("draw", "announce", ROUND, "--seats", "5", "--sources", SOURCES)
    assert {g["name"]: g["quota"] for g in announced["pool"]["groups"]} == {RD: 1, ZX: 4}
    data = cli.json("draw", ROUND, "--seed", SEED)
    # The openssl order, cut at the quotas.
    assert [s["evaluator"] for s in data["seats"]] == ["RD06", "ZX01", "ZX02", "ZX05", "ZX04"]
    assert "match" in verify(cli, ok=True)


def test_the_rules_file_chooses_the_default_method(migrated_db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "pingyi.toml"
    config.write_text('[draw]\nmethod = "rfc3797"\n', encoding="utf-8")
    cli = Cli(migrated_db_url, config=config)
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
