"""Ingesting ballot files: idempotent, every record kept, rejections named."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from service.models.ballots import Ballot, Vote
from service.store.engine import make_engine, session_scope

UNITS = "code,name,system\n" + "".join(
    f"U{i},单位{i},{'法院' if i < 3 else '公安局'}\n" for i in range(1, 5)
)
POOL = "id,name,group,conflicts\nP1,甲,人大代表,U1\nP2,乙,政协委员,\nP3,丙,乡村干部,\n"


def setup_round(cli, tmp_path: Path) -> list[str]:
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    (tmp_path / "pool.csv").write_text(POOL, encoding="utf-8")
    (tmp_path / "panel.txt").write_text("P1\nP2\nP3\n", encoding="utf-8")
    cli("import", "units", str(tmp_path / "units.csv"))
    cli("import", "pool", str(tmp_path / "pool.csv"))
    cli("round", "create", "2026-10", "--opens", "2026-10-01", "--closes", "2026-10-31")
    cli("panel", "set", "2026-10", str(tmp_path / "panel.txt"))
    return [s["token"] for s in cli.json("panel", "show", "2026-10")["seats"]]


def ballot(rid: str, token: str, at: str = "2026-10-20T10:00:00+08:00", **answers: object) -> dict:
    return {"id": rid, "token": token, "submitted_at": at, "answers": answers}


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text(
        "".join(
            (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
        ),
        encoding="utf-8",
    )
    return path


def test_same_file_twice_changes_nothing(cli, tmp_path: Path) -> None:
    t = setup_round(cli, tmp_path)
    f = write_jsonl(
        tmp_path / "b.jsonl",
        [
            ballot("r1", t[0], U1="满意", U2="基本满意", U3=87.5, U4="不了解"),
            ballot("r2", t[1], U1="不满意", U2="满意", U3="满意", U4="满意"),
        ],
    )
    first = cli.json("ingest", "2026-10", str(f))
    assert first == {
        "records": 2,
        "new": 2,
        "updated": 0,
        "unchanged": 0,
        "accepted": 2,
        "superseded": 0,
        "rejected": 0,
        "invalid": 0,
    }
    ranking = cli.json("rank", "2026-10")
    second = cli.json("ingest", "2026-10", str(f))
    assert second["new"] == 0 and second["unchanged"] == 2 and second["accepted"] == 2
    assert cli.json("rank", "2026-10")["units"] == ranking["units"]
    with session_scope(make_engine(cli.db)) as s:
        assert len(s.scalars(select(Ballot)).all()) == 2
        points = s.scalars(
            select(Vote.points).where(Vote.unit_code == "U3", Vote.label.is_(None))
        ).all()
        assert points == ["87.5"]  # exact decimal text, never a float


def test_the_same_ballots_as_an_array_are_recognised(cli, tmp_path: Path) -> None:
    t = setup_round(cli, tmp_path)
    records = [ballot("r1", t[0], U1="满意", U2="满意"), ballot("r2", t[1], U2="满意", U3="满意")]
    write_jsonl(tmp_path / "b.jsonl", records)
    cli("ingest", "2026-10", str(tmp_path / "b.jsonl"))
    (tmp_path / "b.json").write_text(
        json.dumps(records, indent=4, ensure_ascii=False), encoding="utf-8"
    )
    assert cli.json("ingest", "2026-10", str(tmp_path / "b.json"))["unchanged"] == 2


def test_rejected_records_are_kept_with_their_reason(cli, tmp_path: Path) -> None:
    t = setup_round(cli, tmp_path)
    f = write_jsonl(
        tmp_path / "b.jsonl",
        [
            ballot("ok", t[0], U1="满意", U2="满意", U3="满意"),
            ballot("forwarded", "not-a-seat", U1="满意"),
            ballot("late", t[1], "2026-11-01T00:00:01+08:00", U1="满意", U2="满意"),
            ballot("early", t[1], "2026-09-30T23:59:59+08:00", U1="满意", U2="满意"),
            ballot("offscale", t[2], U1="很满意", U2=101, U9="满意"),
            '{"id": "broken", "token": ',
            {"id": "naive", "token": t[2], "submitted_at": "2026-10-20T10:00:00", "answers": {}},
            {
                "id": "extra",
                "token": t[2],
                "submitted_at": "2026-10-20T10:00:00+08:00",
                "answers": {},
                "x": 1,
            },
        ],
    )
    out = cli("ingest", "2026-10", str(f))
    assert "accepted 1, superseded 0, rejected 7, invalid 0" in out
    with session_scope(make_engine(cli.db)) as s:
        reasons = {
            b.response_id: b.reason for b in s.scalars(select(Ballot)) if b.status == "rejected"
        }
    assert reasons["forwarded"] == "token is not a seat of round 2026-10"
    assert "after the round closed (2026-10-31T23:59:59" in reasons["late"]
    assert "before the round opened (2026-10-01T00:00:00+08:00)" in reasons["early"]
    assert "U1.总体: '很满意' is not on the scale" in reasons["offscale"]
    assert "U2.总体: 101 is outside 0–100" in reasons["offscale"]
    assert "unknown unit 'U9'" in reasons["offscale"]
    broken = next(k for k in reasons if k.startswith("sha256:"))
    assert "b.jsonl, line 6: invalid JSON" in reasons[broken]
    assert "submitted_at" in reasons["naive"]
    assert "x: Unknown field" in reasons["extra"]
    # Nothing is lost: each record's text is kept verbatim.
    with session_scope(make_engine(cli.db)) as s:
        assert s.scalars(select(Ballot.raw).where(Ballot.response_id == broken)).one() == (
            '{"id": "broken", "token": '
        )


def test_a_changed_record_is_judged_again(cli, tmp_path: Path) -> None:
    t = setup_round(cli, tmp_path)
    write_jsonl(tmp_path / "a.jsonl", [ballot("r1", t[0], U1="很满意")])
    out = cli("ingest", "2026-10", str(tmp_path / "a.jsonl"), "--json", ok=False)  # none counts
    assert json.loads(out)["rejected"] == 1
    write_jsonl(tmp_path / "b.jsonl", [ballot("r1", t[0], U1="满意", U2="满意", U3="满意")])
    again = cli.json("ingest", "2026-10", str(tmp_path / "b.jsonl"))
    assert again["updated"] == 1 and again["accepted"] == 1 and again["rejected"] == 0


def test_resubmission_supersedes_and_thin_ballot_is_invalid(cli, tmp_path: Path) -> None:
    t = setup_round(cli, tmp_path)
    f = write_jsonl(
        tmp_path / "b.jsonl",
        [
            ballot("late-one", t[1], "2026-10-22T10:00:00+08:00", U1="满意", U2="满意", U3="满意"),
            ballot("early-one", t[1], "2026-10-21T10:00:00+08:00", U1="不满意", U2="不满意"),
            # P1 is recused from U1: asked 3 units, votes on 1 of them -> under half -> invalid
            ballot("thin", t[0], U1="满意", U2="满意", U3="不了解", U4="不了解"),
        ],
    )
    assert "accepted 1, superseded 1, rejected 0, invalid 1" in cli("ingest", "2026-10", str(f))
    ranking = cli.json("rank", "2026-10")
    assert ranking["participation"] == {"seats": 3, "ballots": 2, "valid_ballots": 1}
    assert ranking["valid"] is False


def test_ingest_errors_name_the_problem(cli, tmp_path: Path) -> None:
    setup_round(cli, tmp_path)
    assert "missing.jsonl" in cli("ingest", "2026-10", str(tmp_path / "missing.jsonl"), ok=False)
    (tmp_path / "empty.json").write_text("  \n", encoding="utf-8")
    assert "the file is empty" in cli("ingest", "2026-10", str(tmp_path / "empty.json"), ok=False)
    (tmp_path / "open.json").write_text('[{"id": "a"}', encoding="utf-8")
    assert "not closed" in cli("ingest", "2026-10", str(tmp_path / "open.json"), ok=False)
    assert "unknown round '2099-01'" in cli(
        "ingest", "2099-01", str(tmp_path / "open.json"), ok=False
    )
    assert "unknown format 'xml'" in cli(
        "ingest", "2026-10", str(tmp_path / "open.json"), "--format", "xml", ok=False
    )
