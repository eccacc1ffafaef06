"""Display values of the monthly circular's reliability section (评议结果可靠性说明).

The statistics engine fills ``circular["reliability"]`` (rank intervals from a bootstrap over
ballots, the bottom-list verdicts, agreement and ballot-quality counts); this module only turns
those numbers into the chart and the sentences, so the template places text and has no logic to
get wrong. The section sits beside the official result and never changes it, and it names no
evaluator: of the ballot checks it prints counts only, whatever else the engine hands over.
"""

from __future__ import annotations

import logging
from typing import Any

from markupsafe import Markup

from jobs.circulars.context import circular_systems
from jobs.circulars.interval_chart import IntervalRow, rank_interval_svg
from jobs.circulars.wording import chinese_number, format_score

logger = logging.getLogger(__name__)

CHART_MIN_ROWS = 15  # the worst-ranked units always drawn
CHART_MAX_ROWS = 25  # with tied units added, never more than this (a third of a page or so)
TIED_NAMED = 5  # a tied unit's sentence names at most this many units, then 等N个单位
ICC_GOOD, ICC_FAIR = 0.75, 0.5


def format_probability(p: float | None) -> str:
    """A probability as a whole percentage; never "0%" or "100%" unless it is exactly that, so
    a 0.3% chance does not read as impossible."""
    if p is None:
        return "—"
    if 0 < p < 0.005:
        return "不足1%"
    if 0.995 < p < 1:
        return "超过99%"
    return f"{round(p * 100)}%"


def _interval_text(interval: Any, level: str) -> str:
    if not interval or interval[0] is None or interval[1] is None:
        return ""
    lo, hi = sorted(int(v) for v in interval[:2])
    return f"{level}置信区间为第{lo}名" if lo == hi else f"{level}置信区间为第{lo}至{hi}名"


def level_text(rel: dict[str, Any]) -> str:
    """The intervals' coverage as printed: the engine's ``bootstrap.level``, 90% by default."""
    level = (rel.get("bootstrap") or {}).get("level") or 0.9
    return f"{float(level) * 100:g}%"


def seed_text(seed: str) -> str:
    """Where the bootstrap's seed came from, in words, with the engine's exact text beside it so
    anyone can match it: the month's public draw seed, or the round's id when it had no draw."""
    if seed.startswith("draw seed "):
        return f"随机种子由本月抽签种子导出（{seed}）"
    if seed.startswith("round id "):
        return f"随机种子由评议轮次编号导出（{seed}）"
    return f"随机种子由“{seed}”导出"


def _tied_text(codes: list[str], names: dict[str, str]) -> str:
    """与A、B、C在统计上无法区分 — at most TIED_NAMED names, then 等N个单位 (N counts all)."""
    shown = "、".join(names.get(c, c) for c in codes[:TIED_NAMED])
    if len(codes) > TIED_NAMED:
        return f"与{shown}等{len(codes)}个单位在统计上无法区分"
    return f"与{shown}在统计上无法区分"


def bottom_sentence(
    unit: dict[str, Any],
    rel: dict[str, Any],
    names: dict[str, str],
    bottom_label: str,
) -> str:
    """One bottom-list unit: where it ranks, how sure that is, and the verdict with its reason."""
    code = unit.get("code", "")
    name = unit.get("name") or code
    head = f"{name}：综合第{unit.get('rank_overall')}名"
    stats = (rel.get("units") or {}).get(code) or {}
    evidence = (rel.get("bottom_evidence") or {}).get(code) or {}
    if unit.get("status") == "vetoed" or evidence.get("vetoed"):
        return f"{head}，因一票否决列入后{bottom_label}名（决定，非统计结果）。"
    clauses = [head]
    if interval := _interval_text(stats.get("rank_overall"), level_text(rel)):
        clauses.append(interval)
    p = stats.get("p_bottom", evidence.get("p_bottom"))
    if p is not None:
        clauses.append(f"进入后{bottom_label}名的概率为{format_probability(p)}")
    if stats.get("adjusted_score") is not None:
        clauses.append(f"按评委宽严校正后的得分为{format_score(stats['adjusted_score'])}")
    months = int(evidence.get("months_in_bottom") or 0)
    if months >= 2:
        clauses.append(
            f"近三个月均列后{bottom_label}名"
            if months >= 3
            else f"近三个月中有{months}个月列后{bottom_label}名"
        )
    verdict = (rel.get("bottom_confidence") or {}).get(code)
    if verdict == "confirmed":
        if evidence.get("below_median") and (p or 0) >= 0.5:
            clauses.append("得分显著低于中位数")
        return "，".join(clauses) + "，结果确定。"
    if verdict != "tied":
        logger.warning("reliability: no verdict for bottom-list unit %s", code)
        return "，".join(clauses) + "。"
    tied = [c for c in (rel.get("tied_with") or {}).get(code) or [] if c != code]
    if tied:
        clauses.append(_tied_text(tied, names))
    else:
        clauses.append("其名次在统计上尚不能确定")
    return "，".join(clauses) + "，排名差异可能由评委抽样造成。"


def icc_sentence(icc: dict[str, Any], systems: list[str]) -> str:
    """Agreement per system in the circular's system order, with the reading scale beside it."""
    parts = []
    for system in [*systems, *(s for s in icc if s not in systems)]:
        if system not in icc:
            continue
        value = icc[system]
        parts.append(f"{system}数据不足" if value is None else f"{system}{float(value):.2f}")
    listed = "，".join(parts) if parts else "数据不足"
    return (
        f"评委一致性（组内相关系数ICC(2,k)）：{listed}。"
        f"{ICC_GOOD}以上为好，{ICC_FAIR}至{ICC_GOOD}为中等，{ICC_FAIR}以下为较差；"
        "数值越高，说明评委对各单位的评价越一致，得分越可靠。"
    )


def quality_sentence(counts: dict[str, Any]) -> str:
    """How many ballots the checks flagged, COUNTS ONLY: which ballots (seats, tokens) stays in
    the admin-only quality report, so no evaluator can be singled out from a circular."""
    ballots = int(counts.get("ballots") or 0)
    straight = int(counts.get("straight_line") or 0)
    lenient = int(counts.get("lenient") or 0)
    severe = int(counts.get("severe") or 0)
    pairs = int(counts.get("near_duplicate") or 0)
    head = f"经检查，{ballots}份有效评议表中，"
    if not (straight or lenient or severe or pairs):
        return head + "未发现对所有单位选择同一选项、评分明显偏宽或偏严、评议表高度雷同的情况。"
    return (
        head + f"{straight}份对所有单位选择同一选项，{lenient}份评分明显偏宽、{severe}份明显偏严，"
        f"{pairs}对评议表高度雷同；按评议规则，以上评议表均照常计入，仅作提示。"
    )


def _chart_rows(
    units: list[dict[str, Any]], rel: dict[str, Any], bottom: list[str]
) -> list[IntervalRow]:
    """The worst CHART_MIN_ROWS ranked units, plus the units a tied bottom-list unit cannot be
    told apart from (worst first) up to CHART_MAX_ROWS: the picture of why it is tied."""
    ranked = sorted(
        (u for u in units if u.get("status") != "insufficient" and u.get("rank_overall")),
        key=lambda u: (u.get("status") == "vetoed", u["rank_overall"], u.get("code", "")),
    )
    chosen = {u["code"] for u in ranked[-CHART_MIN_ROWS:]} | {
        c for c in bottom if any(u["code"] == c for u in ranked)
    }
    codes_ranked = {u["code"] for u in ranked}
    for code in bottom:
        for other in (rel.get("tied_with") or {}).get(code) or []:
            if len(chosen) >= CHART_MAX_ROWS:
                break
            if other in codes_ranked:
                chosen.add(other)
    verdicts = rel.get("bottom_confidence") or {}
    stats = rel.get("units") or {}
    rows = []
    for u in ranked:
        if u["code"] not in chosen:
            continue
        interval = (stats.get(u["code"]) or {}).get("rank_overall") or [None, None]
        rows.append(
            IntervalRow(
                name=u.get("name") or u["code"],
                rank=u["rank_overall"],
                lo=interval[0],
                hi=interval[1],
                bottom=u["code"] in bottom,
                verdict=verdicts.get(u["code"], ""),
                vetoed=u.get("status") == "vetoed",
            )
        )
    return rows


def reliability_context(circular: dict[str, Any]) -> dict[str, Any] | None:
    """The section's display values, or None when the engine did not run (no section at all)."""
    rel = circular.get("reliability")
    if not rel:
        return None
    ranking = circular["ranking"]
    units = ranking.get("units") or []
    by_code = {u["code"]: u for u in units}
    names = {u["code"]: u.get("name") or u["code"] for u in units}
    bottom = list(ranking.get("bottom") or [])
    rules = circular.get("rules") or {}
    bottom_label = chinese_number(int(rules.get("bottom", len(bottom) or 5)))
    rows = _chart_rows(units, rel, bottom)
    bottom_rows = []
    for code in bottom:
        unit = by_code.get(code) or {"code": code, "name": code}
        bottom_rows.append(bottom_sentence(unit, rel, names, bottom_label))
    boot = rel.get("bootstrap") or {}
    b = boot.get("b")
    seed = str(boot.get("seed") or "")
    check = f"自助法重抽样{b}次" if b else "自助法重抽样"
    if seed:
        check += "，" + seed_text(seed)
    return {
        "chart": Markup(rank_interval_svg(rows, bottom_label, level_text(rel))),  # escaped text
        "level": level_text(rel),
        "chart_rows": len(rows),
        "bottom_label": bottom_label,
        "bottom_sentences": bottom_rows,
        "icc_sentence": icc_sentence(rel.get("icc") or {}, circular_systems(circular)),
        "quality_sentence": quality_sentence(rel.get("quality_counts") or {}),
        "closing": (
            "本部分为统计参考，不改变上述正式排名结果。"
            f"可复核：{check}，按每个评委的整张评议表重新抽取，同一种子得到相同结果。"
        ),
    }
