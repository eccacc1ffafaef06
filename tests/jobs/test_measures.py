"""Rectification measures (整改措施) through the command line, on both databases: recorded per
unit with who and when, carried into later rounds while open, closed with a note, every change
audit-logged (docs/rules.md, Rectification)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from service.models.audit import AuditEntry
from service.store.engine import make_engine, session_scope
from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import GROUP, SMALL


def test_a_measure_is_carried_forward_until_done(migrated_db_url: str, tmp_path: Path) -> None:
    ev = Evaluation(migrated_db_url, tmp_path, {"A": "法院", "B": "公安局"}, {"P1": GROUP},
                    rules=SMALL)  # fmt: skip
    add = ("measure", "add", "2026-10", "A")
    out = ev.cli(*add, "--cause", "接待不及时", "--measure", "设立导诉台", "--due", "2026-12-31",
                 "--by", "县委政法委")  # fmt: skip
    assert "measure 1 for A recorded (open)" in out
    assert "needs its cause" in ev.cli(*add, "--cause", " ", "--measure", "x", ok=False)
    assert "expected a date" in ev.cli(*add, "--cause", "c", "--measure", "m", "--due", "明天",
                                      ok=False)  # fmt: skip
    assert "not one of round" in ev.cli("measure", "add", "2026-10", "Z", "--cause", "c",
                                        "--measure", "m", ok=False)  # fmt: skip

    ev.new_round("2026-11", "2026-11-01", "2026-11-30", ["P1"])
    [carried] = ev.cli.json("measure", "list", "2026-11")
    assert (carried["unit"], carried["round"], carried["carried"], carried["status"]) == (
        "A",
        "2026-10",
        True,
        "open",
    )
    assert carried["due"] == "2026-12-31" and carried["measure"] == "设立导诉台"

    assert "no open measure" in ev.cli("measure", "done", "2026-11", "B", ok=False)
    ev.cli("measure", "done", "2026-11", "A", "--note", "导诉台已启用", "--by", "县委政法委")
    [closed] = ev.cli.json("measure", "list", "2026-11")  # closed here: this round reports it
    assert closed["status"] == "done" and closed["done_note"] == "导诉台已启用"
    ev.new_round("2026-12", "2026-12-01", "2026-12-31", ["P1"])
    assert ev.cli.json("measure", "list", "2026-12") == []  # done: no longer carried
    assert ev.cli.json("measure", "list", "2026-10")[0]["status"] == "done"

    with session_scope(make_engine(ev.db_url)) as s:
        actions = list(
            s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("measure.%")))
        )
    assert actions == ["measure.add", "measure.done"]
