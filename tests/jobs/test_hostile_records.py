"""Records no database or parser takes as they are: each becomes a rejected ballot with its
reason, on SQLite and PostgreSQL, and nothing else in the file is lost (issue #9 items 3–5)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.canonical import MAX_DEPTH, canonical_text, decode_json, load_ballot
from service.models.ballots import Ballot
from service.store.engine import make_engine, session_scope
from tests.jobs.test_ingest import ballot, setup_round

GOOD = {"U1": "满意", "U2": "满意", "U3": "满意", "U4": "满意"}


def _line(rid: str, token: str, **fields: object) -> str:
    record = {**ballot(rid, token, **GOOD), **fields}
    return json.dumps(record)  # ASCII escapes: \u0000 and \ud800 stay escapes in the file


def _stored(url: str) -> dict[str, tuple[str, str | None]]:
    with session_scope(make_engine(url)) as session:
        return {
            rid: (status, reason)
            for rid, status, reason in session.execute(
                select(Ballot.response_id, Ballot.status, Ballot.reason)
            )
        }


def test_unstorable_and_unreal_answers_are_kept_as_rejected_ballots(cli, tmp_path: Path) -> None:
    t = setup_round(cli, tmp_path)
    deep = "[" * 600 + "]" * 600
    lines = [
        _line("nul", t[0], comments={"U1": "回复\u0000敷衍"}),
        _line("surrogate", t[0], comments={"U1": "x\ud800y"}),
        _line("nan", t[0], answers={**GOOD, "U1": "NaN"}),
        _line("inf", t[0], answers={**GOOD, "U2": "Infinity"}),
        _line("huge", t[0], answers={**GOOD, "U3": 1}).replace('"U3": 1', '"U3": 1e20000000'),
        _line("deep", t[0]).replace('"U4": "\\u6ee1\\u610f"', f'"U4": {deep}'),
        "[" * 5000 + "]" * 5000,
        _line("good", t[1]),
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    got = cli.json("ingest", "2026-10", str(path))
    assert time.perf_counter() - started < 30  # no twenty-million-digit integer was built
    assert got["records"] == 8 and got["accepted"] == 1 and got["new"] == 8
    stored = _stored(cli.db)
    assert stored["good"][0] == "accepted"
    expected = {
        "nul": "comments.U1: contains a NUL character",
        "surrogate": "comments.U1: contains an unpaired surrogate",
        "nan": "U1.总体: NaN is not a number",
        "inf": "U2.总体: Infinity is not a number",
        "huge": "U3.总体: 1E+20000000 is outside 0–100",
        "deep": f"nested more than {MAX_DEPTH} levels deep",
    }
    for rid, reason in expected.items():
        status, reasons = stored[rid]
        assert status == "rejected", rid
        assert reason in reasons, (rid, reasons)
    # The 5,000-deep line has no id: it is kept under a hash of its text, with the reason.
    unnamed = [r for rid, (s, r) in stored.items() if rid.startswith("sha256:")]
    assert len(unnamed) == 1 and "nested too deeply" in unnamed[0]


def test_the_same_hostile_file_twice_changes_nothing(cli, tmp_path: Path) -> None:
    t = setup_round(cli, tmp_path)
    path = tmp_path / "again.jsonl"
    path.write_text(
        _line("surrogate", t[0], comments={"U1": "x\ud800y"}) + "\n" + _line("ok", t[1]) + "\n",
        encoding="utf-8",
    )
    cli.json("ingest", "2026-10", str(path))
    again = cli.json("ingest", "2026-10", str(path))
    assert again["unchanged"] == 2 and again["new"] == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('{"a": NaN}', "NaN is not a number"),
        ('{"a": -Infinity}', "-Infinity is not a number"),
    ],
)
def test_the_decoder_refuses_what_is_not_plain_json(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_json(text)


def test_a_deep_record_is_refused_before_anything_recurses_over_it() -> None:
    deep: object = "满意"
    for _ in range(5):
        deep = {"x": deep}
    record = load_ballot({"id": "r", "token": "t", "answers": deep}, "here", "{}")
    assert record.ballot is None and record.error == "here: nested more than 4 levels deep"
    assert canonical_text({"a": [[[[[1]]]]]}) == '{"nested_deeper_than": 4}'
    assert canonical_text({"b": "x\ud800", "a": "满意"}) == '{"a":"满意","b":"x\\ud800"}'
