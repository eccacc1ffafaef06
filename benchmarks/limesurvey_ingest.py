"""Benchmark: ``pingyi poll`` of a 10,000-response LimeSurvey export (98 units each) into PostgreSQL.

A fake RemoteControl endpoint (``tests/fake_limesurvey.py``, real HTTP on 127.0.0.1) serves a
generated survey shaped like the recorded one: an ``F`` Array whose rows are the demo county's 98
units (codes without "-", as LimeSurvey requires) and whose answer options A1..A4 are
满意/基本满意/不满意/不了解, one complete response per seat of a 10,000-seat round (a 万人评议).
Setup (schema, units, seats, ``source add``) is not timed; the timed part is one ``pingyi poll``:
RPC, base64 and JSON decoding, mapping, judging, storing 980,000 votes, settling the round.

Run: ``.venv/bin/python benchmarks/limesurvey_ingest.py [--pg URL]``; bar (docs/service.md): ≤ 20 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.registry import platform
from service.cli import main
from service.cli.demo_county import county_units
from service.models.reference import Group, Member
from service.models.rounds import Seat, SeatHolder
from service.store.engine import make_engine, session_scope, utcnow
from service.store.rounds import new_token
from tests.fake_limesurvey import FakeLimeSurvey

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RESPONSES = 10_000
ROUND = "2026-10"
QID = 7
LABELS = {"A1": "满意", "A2": "基本满意", "A3": "不满意", "A4": "不了解"}


def _fieldmap(codes: list[str]) -> dict:
    fm = {
        name: {"fieldname": name, "type": name, "sid": 1, "gid": "", "qid": "", "aid": "", "title": ""}
        for name in ("id", "submitdate", "lastpage", "startlanguage", "seed", "token", "startdate", "datestamp")
    }  # fmt: skip
    for i, code in enumerate(codes):
        name = f"1X1X{QID}{code}"
        fm[name] = {"fieldname": name, "type": "F", "sid": 1, "gid": 1, "qid": QID, "aid": code,
                    "sqid": 100 + i, "title": "SAT", "subquestion": code}  # fmt: skip
    return fm


def _responses(codes: list[str], tokens: list[str]) -> list[dict]:
    rng = random.Random(20261031)
    rows = []
    for i, token in enumerate(tokens, start=1):
        at = f"2026-10-{20 + i % 10:02d} {8 + i % 10:02d}:{i % 60:02d}:{(7 * i) % 60:02d}"
        row = {"id": i, "submitdate": at, "lastpage": 2, "startlanguage": "zh-Hans", "seed": "",
               "token": token, "startdate": at, "datestamp": at}  # fmt: skip
        for code in codes:
            row[f"SAT[{code}]"] = rng.choice(["A1", "A1", "A1", "A2", "A2", "A3", "A4"])
        rows.append(row)
    return rows


def _seed(db: str, workdir: Path, seats: int) -> list[str]:
    """Units, a pool and a round with ``seats`` active seats, written directly (setup only)."""
    runner = CliRunner()
    units = workdir / "units.csv"
    units.write_text(
        "code,name,system\n" + "".join(f"{u.code},{u.name},{u.system}\n" for u in county_units()),
        encoding="utf-8",
    )
    for args in (
        ["init"],
        ["import", "units", str(units)],
        ["round", "create", ROUND, "--opens", "2026-10-01", "--closes", "2026-10-31"],
    ):
        result = runner.invoke(main, ["--db", db, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    engine = make_engine(db)
    tokens = [new_token() for _ in range(seats)]
    with session_scope(engine) as session:
        session.add(Group(id=1, name="群众代表"))
        session.flush()
        session.execute(
            insert(Member),
            [{"id": f"M{i:05d}", "name": f"评委{i}", "group_id": 1} for i in range(seats)],
        )
        now = utcnow()
        session.execute(
            insert(Seat),
            [
                {"id": i + 1, "round_id": ROUND, "token": t, "group_name": "群众代表", "status": "active", "created_at": now}
                for i, t in enumerate(tokens)
            ],
        )  # fmt: skip
        session.execute(
            insert(SeatHolder), [{"seat_id": i + 1, "member_id": f"M{i:05d}"} for i in range(seats)]
        )
    engine.dispose()
    return tokens


def _run(db: str, workdir: Path, responses: int) -> dict:
    runner = CliRunner()
    tokens = _seed(db, workdir, responses)
    codes = [u.code.replace("-", "") for u in county_units()]
    platform_token = platform("limesurvey").platform_token
    assert platform_token is not None
    rows = _responses(codes, [platform_token(t) for t in tokens])
    fake = FakeLimeSurvey(
        fieldmap=_fieldmap(codes), responses=rows, answer_options={QID: LABELS}, sid=1
    )
    os.environ["PINGYI_BENCH_LS_PASSWORD"] = fake.password
    with fake:
        add = runner.invoke(
            main,
            ["--db", db, "source", "add", "bench", "--kind", "limesurvey", "--round", ROUND,
             "--url", fake.url, "--survey", "1", "--username", fake.username,
             "--password-env", "PINGYI_BENCH_LS_PASSWORD", "--question", "SAT"],
            catch_exceptions=False,
        )  # fmt: skip
        assert add.exit_code == 0, add.output
        start = time.perf_counter()
        polled = runner.invoke(
            main, ["--db", db, "poll", "bench", "--json"], catch_exceptions=False
        )
        seconds = time.perf_counter() - start
        assert polled.exit_code == 0, polled.output
        again_start = time.perf_counter()
        fake.calls.clear()
        again = runner.invoke(main, ["--db", db, "poll", "bench", "--json"], catch_exceptions=False)
        again_seconds = time.perf_counter() - again_start
        idle_calls = list(fake.calls)
    result = json.loads(polled.output)[0]
    assert json.loads(again.output)[0]["new"] == 0
    return {
        "responses": responses,
        "units": len(codes),
        "votes": responses * len(codes),
        "seconds": round(seconds, 2),
        "ballots_per_s": round(result["new"] / seconds, 1),
        "new": result["new"],
        "accepted": result["accepted"],
        "rejected": result["rejected"],
        "idle_poll_seconds": round(again_seconds, 3),
        "idle_poll_calls": len(idle_calls),
        "bar_s": 20,
        "ok": seconds <= 20 and len(idle_calls) <= 3,
    }


def bench_limesurvey_ingest(pg_url: str = PG_DEFAULT, responses: int = RESPONSES) -> dict:
    """Time ``pingyi poll`` of ``responses`` LimeSurvey responses into a fresh PostgreSQL schema."""
    schema = "bench_ls_" + uuid.uuid4().hex[:10]
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return _run(f"{pg_url}?options=-csearch_path%3D{schema}", Path(tmp), responses)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("PINGYI_TEST_PG", PG_DEFAULT))
    parser.add_argument("--responses", type=int, default=RESPONSES)
    args = parser.parse_args()
    print(json.dumps(bench_limesurvey_ingest(args.pg, args.responses), indent=2))
