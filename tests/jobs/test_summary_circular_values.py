"""What a quarterly or half-year circular prints per unit, from plain data (jobs/circulars/change.py):
movement against the previous summary, the constituents' cells, carried vetoes, measures and the
cap on pooled comments."""

from __future__ import annotations

from jobs.circulars.change import COMMENT_LINES, build_summary_context
from service.rules import Rules


def _circular(previous: dict | None) -> dict:
    units = [
        {"code": "A", "name": "甲", "system": "法院", "score": 93.0, "status": "ranked",
         "rank_in_system": 1, "rank_overall": 1, "votes": 2,
         "parts": {"rounds": {}, "mean": 90.0, "leaders": 100.0}},
        {"code": "B", "name": "乙", "system": "法院", "score": 80.5, "status": "ranked",
         "rank_in_system": 2, "rank_overall": 2, "votes": 0,
         "parts": {"rounds": {}, "mean": 80.5, "leaders": None}},
        {"code": "C", "name": "丙", "system": "法院", "score": 70.0, "status": "ranked",
         "rank_in_system": 3, "rank_overall": 3, "votes": 2,
         "parts": {"rounds": {}, "mean": 70.0, "leaders": 70.0}},
        {"code": "D", "name": "丁", "system": "法院", "score": 88.0, "status": "vetoed",
         "rank_in_system": 4, "rank_overall": 4, "votes": 2,
         "parts": {"rounds": {}, "mean": 88.0, "leaders": 88.0}},
    ]  # fmt: skip
    month = {
        "A": {"score": 91.25, "status": "ranked", "rank_in_system": 2},
        "B": {"score": 80.5, "status": "insufficient", "rank_in_system": None},
        "D": {"score": 95.0, "status": "vetoed", "rank_in_system": 4},
    }
    comments = {"A": [f"意见{i % 9}" for i in range(30)]}
    return {
        "round": {"id": "2026-Q4", "kind": "quarterly", "period": "2026年第四季度"},
        "issuer": {"body": "县委政法委员会", "title": "t", "doc_number": "n", "date": "d"},
        "ranking": {"units": units, "top": ["A", "B", "C"], "bottom": ["D", "C"],
                    "vetoed": ["D"], "participation": {"seats": 2, "valid_ballots": 2}},
        "systems": ["法院"],
        "rules": Rules().as_dict(),
        "constituents": [{"id": "2026-10", "period": "10月", "ranks": month}],
        "previous": previous,
        "history": {"periods": [{"id": "2026-10", "label": "10月"}], "ranks": {}},
        "comments": comments,
        "vetoes": [{"unit": "D", "round": "2026-10", "reason": "重大事故。", "by": "县委政法委",
                    "at": "2026-10-20T10:00:00+08:00"}],
        "measures": [
            {"id": 1, "unit": "C", "round": "2026-Q3", "carried": True, "cause": "因", "measure": "措",
             "due": "2026-12-31", "status": "done", "done_at": "2026-12-01T10:00:00+08:00",
             "done_note": "已整改"},
            {"id": 2, "unit": "C", "round": "2026-Q4", "carried": False, "cause": "因2",
             "measure": "措2", "due": None, "status": "open", "done_at": None, "done_note": None},
        ],
    }  # fmt: skip


def test_movement_parts_vetoes_measures_and_capped_comments() -> None:
    previous = {"id": "2026-Q3", "period": "2026年第三季度", "ranks": {
        "A": {"status": "ranked", "rank_in_system": 3},
        "B": {"status": "ranked", "rank_in_system": 2},
        "C": {"status": "insufficient", "rank_in_system": None},
    }}  # fmt: skip
    ctx = build_summary_context(_circular(previous))
    rows = {r["code"]: r for r in ctx["systems"][0]["rows"]}
    assert [rows[c]["move"] for c in "ABCD"] == ["↑2", "—", "新", ""]
    assert [rows[c]["parts"] for c in "ABCD"] == [["91.25(2)"], ["80.50"], ["—"], ["95.00(否)"]]
    assert (rows["A"]["mean"], rows["A"]["leaders"], rows["B"]["leaders"]) == (
        "90.00",
        "100.00",
        "—",
    )
    [veto] = ctx["vetoes"]
    assert veto["decisions"] == [
        {"where": "10月", "reason": "重大事故", "by": "县委政法委", "date": "2026年10月20日"}
    ]
    [unit] = ctx["measures"]
    assert [(e["status"], e["carried"]) for e in unit["entries"]] == [
        ("已完成（2026年12月1日）", True),
        ("整改中", False),
    ]
    [pooled] = ctx["comment_units"]
    assert len(pooled["comments"]) == COMMENT_LINES and pooled["total"] == 30
    assert pooled["more"] == 30 - sum(c["count"] for c in pooled["comments"])
    assert ctx["own_share"] == "70%" and ctx["leader_share"] == "30%"


def test_without_a_previous_summary_there_is_no_movement_column() -> None:
    ctx = build_summary_context(_circular(None))
    assert ctx["previous"] is None
    assert {r["move"] for r in ctx["systems"][0]["rows"]} == {""}
