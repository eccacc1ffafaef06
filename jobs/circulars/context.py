"""Display values every kind of circular shares: masthead, rows of unit tables, lists, the
audit footer. Templates only place what these return (docs/circulars.md)."""

from __future__ import annotations

import logging
import math
from typing import Any

from jobs.circulars.tables import list_table
from jobs.circulars.wording import (
    STATUS_LABELS,
    chinese_date,
    chinese_number,
    describe_rules,
    format_score,
    format_share,
)

logger = logging.getLogger(__name__)

# The 版心 (text block) is 156 mm wide; a masthead of n characters is sized to fit 150 mm of
# it, leaving room for its letter spacing, so it stays on one line whatever the body's name.
_MASTHEAD_WIDTH_PT = 150 * 72 / 25.4
_MASTHEAD_MAX_PT = 42
_ISSUER_KEYS = ("body", "masthead", "doc_number", "date", "title", "recipients", "cc")


def _masthead(issuer: dict[str, Any]) -> tuple[str, float]:
    """The red 发文机关标志 text and a font size that keeps it on one line of the text block."""
    text = issuer.get("masthead") or f"{issuer.get('body', '')}文件"
    size = min(_MASTHEAD_MAX_PT, _MASTHEAD_WIDTH_PT / max(1, len(text)))
    return text, round(size, 1)


def unit_row(unit: dict[str, Any], rank_key: str) -> dict[str, Any]:
    """One table row as display strings; the template only places them."""
    status = unit.get("status")
    rank = unit.get(rank_key)
    return {
        "code": unit.get("code", ""),
        "rank": "—" if rank is None or status == "insufficient" else str(rank),
        "name": unit.get("name") or unit.get("code", ""),
        "system": unit.get("system", ""),
        "score": format_score(unit.get("score")),
        "votes": unit.get("votes", 0),
        "satisfied": format_share(unit.get("satisfied_share")),
        "note": "" if status == "ranked" else STATUS_LABELS.get(status, status or ""),
        "status": status,
    }


def system_order(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ranked and vetoed units by rank, then insufficient ones by score (they have no rank)."""

    def key(unit: dict[str, Any]) -> tuple[int, float, float, str]:
        rank = unit.get("rank_in_system")
        score = unit.get("score")
        unranked = rank is None or unit.get("status") == "insufficient"
        return (
            int(unranked),
            rank if not unranked else 0,
            -score if score is not None else math.inf,
            unit.get("code", ""),
        )

    return sorted(units, key=key)


def listed(codes: list[str], by_code: dict[str, dict[str, Any]], what: str) -> list[dict]:
    rows = []
    for code in codes:
        unit = by_code.get(code)
        if unit is None:
            logger.warning("circular: %s names unknown unit %s", what, code)
            unit = {"code": code, "name": code, "status": None}
        rows.append(unit_row(unit, "rank_overall"))
    return rows


def top_and_bottom(
    circular: dict[str, Any], by_code: dict[str, dict[str, Any]], votes: bool = True
) -> dict[str, Any]:
    """The top and bottom lists as rows and tables, and what the circular says when they share
    units. docs/rules.md lets one unit be in both when fewer units are ranked than the two lists
    are long; the circular prints both lists as ranked (the JSON and XLSX carry the same), marks
    each shared unit in 备注 and says so in one sentence (docs/circulars.md, "Top and bottom")."""
    ranking, rules = circular["ranking"], circular.get("rules") or {}
    rules_top = ranking.get("top") or []
    rules_bottom = ranking.get("bottom") or []
    top, bottom = (
        listed(rules_top, by_code, "top list"),
        listed(rules_bottom, by_code, "bottom list"),
    )
    shared = [code for code in rules_bottom if code in set(rules_top)]
    overlap = ""
    if shared:
        top_label = chinese_number(int(rules.get("top", len(rules_top))))
        bottom_label = chinese_number(int(rules.get("bottom", len(rules_bottom))))
        for row in top:
            if row["code"] in shared:
                row["note"] = row["note"] or f"见后{bottom_label}名"
        for row in bottom:
            if row["code"] in shared:
                row["note"] = row["note"] or f"见前{top_label}名"
        ranked = sum(1 for u in by_code.values() if u.get("rank_overall") is not None)
        names = "、".join((by_code.get(c) or {}).get("name") or c for c in shared)
        overlap = (
            f"参与排名的单位共{ranked}个，少于前{top_label}名与后{bottom_label}名之和，"
            f"{names}{'等' + str(len(shared)) + '个单位' if len(shared) > 1 else ''}"
            f"同时列入前{top_label}名和后{bottom_label}名。"
        )
    return {
        "top": top,
        "bottom": bottom,
        "top_table": list_table(top, votes),
        "bottom_table": list_table(bottom, votes),
        "overlap": overlap,
    }


def common_context(circular: dict[str, Any]) -> dict[str, Any]:
    """What every kind of circular prints the same way: the masthead, title, issue date, rules,
    the audit footer and a re-issue's line."""
    rules = circular.get("rules") or {}
    ranking = circular["ranking"]
    # Optional texts default to "" so the template (StrictUndefined) never trips on a missing cc.
    issuer = {k: circular["issuer"].get(k) or "" for k in _ISSUER_KEYS}
    masthead, masthead_size = _masthead(issuer)
    round_ = {"kind": "monthly", "panel_method": None, **circular["round"]}
    round_["period"] = round_.get("period") or round_.get("id", "")
    top_n = int(rules.get("top", len(ranking.get("top") or [])))
    bottom_n = int(rules.get("bottom", len(ranking.get("bottom") or [])))
    return {
        "round": round_,
        "issuer": issuer,
        "masthead": masthead,
        "masthead_size": masthead_size,
        "top_label": chinese_number(top_n),
        "bottom_label": chinese_number(bottom_n),
        "rules_text": describe_rules(rules, round_.get("kind", "monthly")),
        "audit_hash": circular.get("audit_hash") or "",
        "generated": chinese_date(circular.get("generated_at"), with_time=True),
        "generated_at": circular.get("generated_at") or "",
        "reissue": _reissue(circular.get("reissue")),
    }


def circular_systems(circular: dict[str, Any]) -> list[str]:
    """The systems in the circular's order, plus any a unit names that the list lacks."""
    units = circular["ranking"].get("units") or []
    systems = list(circular.get("systems") or dict.fromkeys(u.get("system", "") for u in units))
    extra = sorted({u.get("system", "") for u in units} - set(systems))
    if extra:
        logger.warning("circular: units in systems not listed in circular['systems']: %s", extra)
        systems += extra
    return systems


def _reissue(reissue: dict[str, Any] | None) -> dict[str, Any] | None:
    """A re-issue's line under the title: which version it replaces, from when, and why."""
    if not reissue:
        return None
    return {**reissue, "replaces_date": chinese_date(reissue.get("replaces_at"))}
