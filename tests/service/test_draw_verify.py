"""``pingyi draw verify`` on SQLite and PostgreSQL: an untouched draw verifies, and every
change to what a draw rests on (its record, seats, tokens, seed, replacements, the audit log)
is named (docs/draw.md; issue #3). Changes to the pool tables after the announcement are not
changes to the draw: ``test_draw_verify_frozen_pool.py`` (issue #9, item 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models.audit import AuditEntry
from service.models.rounds import Draw, Seat, SeatHolder
from tests.conftest import Cli
from tests.service.draw_setup import (
    RD,
    ROUND,
    announce_and_draw,
    db,
    setup_pool,
    verify,
)

# ---- verify ---------------------------------------------------------------------------------------


def test_verify_matches_an_untouched_draw(cli: Cli, tmp_path: Path) -> None:
    announce_and_draw(cli, tmp_path)
    assert "match" in verify(cli, ok=True)
    data = cli.json("draw", "verify", ROUND)
    assert data == {"round": ROUND, "match": True, "differences": [], "notes": []}


def _seat_of(s: Session, member: str) -> SeatHolder:
    return s.scalars(
        select(SeatHolder)
        .join(Seat, Seat.id == SeatHolder.seat_id)
        .where(SeatHolder.member_id == member, Seat.status == "active")
    ).one()


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
        (_tamper_holder, "seat of RD06"),
        (_tamper_seat_group, "seat of ZX02"),
        (_tamper_seat_status, "seat of RD01"),
        (_tamper_seed, "draw table, seed"),
        (_tamper_snapshot, "draw table, pool snapshot"),
    ],
    ids=[
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
