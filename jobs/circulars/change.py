"""Change over time, as the circulars print it: the rank-over-months charts, and the display values
of a quarterly or half-year circular (docs/circulars.md, "Quarterly and half-year circulars").

A summary's reader asks three things of each unit: where it stands now (Q or H and its rank), how
it got there (each month's or quarter's score and rank, the months' mean M, the leaders' score L),
and whether it is rising or falling (the movement against the previous summary of the same kind).
The plain data comes from ``jobs.circulars.publish``; here it becomes strings to place.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from markupsafe import Markup

from jobs.circulars.comments import pool_comments
from jobs.circulars.context import (
    circular_systems,
    common_context,
    system_order,
    top_and_bottom,
    unit_row,
)
from jobs.circulars.history_chart import RankLine, rank_history_svg
from jobs.circulars.tables import summary_table
from jobs.circulars.wording import SUMMARY_KINDS, chinese_date, format_score, plain_number

MEASURE_STATUS = {"open": "整改中", "done": "已完成"}
# Distinct comments a summary circular prints per unit (the most frequent first).
COMMENT_LINES = 6


def _marks(ranking: dict[str, Any]) -> dict[str, str]:
    """How each unit's line is drawn: the lists it is on now."""
    marks = {code: "top" for code in ranking.get("top") or ()}
    marks.update({code: "bottom" for code in ranking.get("bottom") or ()})
    marks.update({code: "vetoed" for code in ranking.get("vetoed") or ()})
    return marks


def history_charts(circular: dict[str, Any], systems: list[str]) -> list[dict[str, Any]]:
    """One rank-over-months chart per system, when the circular has at least two periods."""
    history = circular.get("history")
    if not history or len(history.get("periods") or ()) < 2:
        return []
    periods = [p["label"] for p in history["periods"]]
    units = circular["ranking"].get("units") or []
    marks = _marks(circular["ranking"])
    charts = []
    for system in systems:
        members = [u for u in units if u.get("system") == system]
        lines = [
            RankLine(
                u.get("name") or u["code"],
                tuple(history["ranks"].get(u["code"], [None] * len(periods))),
                marks.get(u["code"], ""),
            )
            for u in system_order(members)
        ]
        if lines:
            svg = rank_history_svg(system, periods, lines, rank_count=len(members))
            charts.append({"system": system, "svg": Markup(svg)})  # built with escaped text
    return charts


def _movement(now: int | None, before: int | None, has_previous: bool) -> str:
    """↑2 (up two places), ↓1, — (the same), 新 (not ranked last time); empty when there is
    no previous summary to compare with."""
    if not has_previous or now is None:
        return ""
    if before is None:
        return "新"
    if before == now:
        return "—"
    return f"↑{before - now}" if before > now else f"↓{now - before}"


def _part_cell(part: dict[str, Any] | None) -> str:
    """A constituent's score with its rank in system, 92.31(3) (half-width brackets keep three
    of them beside M, L and Q on one line); 92.31(否) when vetoed; 票数不足: the score only."""
    if not part or part.get("score") is None:
        return "—"
    score = format_score(part["score"])
    rank = part.get("rank_in_system")
    if part.get("status") == "vetoed":
        return f"{score}(否)"
    return score if rank is None or part.get("status") != "ranked" else f"{score}({rank})"


def _summary_rows(
    circular: dict[str, Any], members: list[dict[str, Any]], has_previous: bool
) -> list[dict[str, Any]]:
    constituents = circular.get("constituents") or []
    previous = (circular.get("previous") or {}).get("ranks") or {}
    rows = []
    for u in system_order(members):
        parts = u.get("parts") or {}
        before = previous.get(u["code"]) or {}
        before_rank = before.get("rank_in_system") if before.get("status") == "ranked" else None
        now = u.get("rank_in_system") if u.get("status") == "ranked" else None
        rows.append(
            {
                **unit_row(u, "rank_in_system"),
                "parts": [_part_cell(c["ranks"].get(u["code"])) for c in constituents],
                "mean": format_score(parts.get("mean")),
                "leaders": format_score(parts.get("leaders")),
                "move": _movement(now, before_rank, has_previous),
            }
        )
    return rows


def _vetoes(circular: dict[str, Any], by_code: dict[str, dict], kind: str) -> list[dict[str, Any]]:
    """Each vetoed unit once, with every decision that vetoed it and the round it came from
    (``kind``: the summary's own name, 季度 or 半年)."""
    periods = {c["id"]: c["period"] for c in circular.get("constituents") or []}
    periods.update(
        {p["id"]: p["label"] for p in (circular.get("history") or {}).get("periods", [])}
    )
    own = circular["round"]["id"]
    rows: dict[str, dict[str, Any]] = {}
    for veto in circular.get("vetoes") or []:
        unit = by_code.get(veto["unit"], {"code": veto["unit"], "name": veto["unit"]})
        row = rows.setdefault(veto["unit"], {**unit_row(unit, "rank_overall"), "decisions": []})
        where = f"本{kind}" if veto.get("round") == own else periods.get(veto.get("round"), "")
        row["decisions"].append(
            {
                "where": where or veto.get("round", ""),
                # The sentence goes on after the reason: its own full stop would double up.
                "reason": (veto.get("reason") or "").strip().rstrip("。；;."),
                "by": veto.get("by") or "",
                "date": chinese_date(veto.get("at")),
            }
        )
    return list(rows.values())


def _measures(circular: dict[str, Any], by_code: dict[str, dict]) -> list[dict[str, Any]]:
    """Measures grouped per unit, in unit order, each with its status in words."""
    units: dict[str, dict[str, Any]] = {}
    for m in circular.get("measures") or []:
        unit = by_code.get(m["unit"], {"code": m["unit"], "name": m["unit"]})
        entry = units.setdefault(
            m["unit"], {"name": unit.get("name") or m["unit"], "system": unit.get("system", "")}
        )
        status = MEASURE_STATUS.get(m["status"], m["status"])
        if m["status"] == "done" and m.get("done_at"):
            status += f"（{chinese_date(m['done_at'])}）"
        entry.setdefault("entries", []).append(
            {
                "cause": m["cause"],
                "measure": m["measure"],
                "due": chinese_date(m.get("due")) if m.get("due") else "",
                "status": status,
                "done": m["status"] == "done",
                "carried": bool(m.get("carried")),
                "note": m.get("done_note") or "",
            }
        )
    return list(units.values())


def build_summary_context(circular: dict[str, Any], comment_threshold: int = 3) -> dict[str, Any]:
    """Display values of a quarterly or half-year circular."""
    common = common_context(circular)
    kind = common["round"]["kind"]
    name, part, parts, _ = SUMMARY_KINDS[kind]
    ranking = circular["ranking"]
    rules = circular.get("rules") or {}
    units = ranking.get("units") or []
    by_code = {u["code"]: u for u in units}
    systems = circular_systems(circular)
    previous = circular.get("previous")
    participation = ranking.get("participation") or {}
    weight = rules.get("monthly_weight", "7/10")
    share = Fraction(str(weight))
    return {
        **common,
        "kind_name": name,
        "part_name": part,
        "parts_name": parts,
        "own_share": f"{plain_number(share * 100)}%",
        "leader_share": f"{plain_number((1 - share) * 100)}%",
        "constituents": [
            {"id": c["id"], "period": c["period"]} for c in circular.get("constituents") or []
        ],
        "previous": previous and {"id": previous["id"], "period": previous["period"]},
        "leader_seats": int(participation.get("seats") or 0),
        "leader_ballots": int(participation.get("valid_ballots") or 0),
        "unit_count": len(units),
        "ranked_count": sum(1 for u in units if u.get("status") == "ranked"),
        "insufficient_count": sum(1 for u in units if u.get("status") == "insufficient"),
        "systems": [
            _system(circular, units, system, (f"{part}均分", f"{name}得分")) for system in systems
        ],
        "history_charts": history_charts(circular, systems),
        "history_periods": [p["label"] for p in (circular.get("history") or {}).get("periods", [])],
        **top_and_bottom(circular, by_code, votes=False),
        "vetoes": _vetoes(circular, by_code, name),
        "measures": _measures(circular, by_code),
        "comment_threshold": comment_threshold,
        "comment_lines": COMMENT_LINES,
        "comment_units": _capped(
            pool_comments(circular.get("comments") or {}, units, systems, comment_threshold)
        ),
    }


def _system(
    circular: dict[str, Any], units: list[dict[str, Any]], system: str, heads: tuple[str, str]
) -> dict[str, Any]:
    """One system's summary rows and their table (jobs/circulars/tables.py)."""
    previous = circular.get("previous") is not None
    rows = _summary_rows(circular, [u for u in units if u.get("system") == system], previous)
    periods = [c["period"] for c in circular.get("constituents") or []]
    return {"name": system, "rows": rows, "table": summary_table(rows, periods, heads, previous)}


def _capped(pooled: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A quarter pools three months of comments: each unit shows its ``COMMENT_LINES`` most
    frequent ones (the order ``pool_comments`` gives), and says how many more there were; the
    JSON and XLSX carry them all."""
    for unit in pooled:
        shown = unit["comments"][:COMMENT_LINES]
        unit["more"] = sum(c["count"] for c in unit["comments"][COMMENT_LINES:])
        unit["comments"] = shown
    return pooled
