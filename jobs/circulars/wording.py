"""The circular's words: numbers, dates, labels and the rules in Chinese prose.

Shared by the PDF (``jobs.circulars.render``) and the XLSX (``jobs.circulars.xlsx``) so both
state the same numbers and the same rules in the same words. Nothing here assumes a county, a set
of systems or particular rule values: every number comes from the circular's ``rules``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from fractions import Fraction
from typing import Any

logger = logging.getLogger(__name__)

STATUS_LABELS = {"ranked": "参与排名", "insufficient": "票数不足", "vetoed": "一票否决"}

_DIGITS = "零一二三四五六七八九"


def format_score(value: float | None) -> str:
    """A published score with exactly two decimals; no score (no votes) shows a dash."""
    return "—" if value is None else f"{value:.2f}"


def format_share(value: float | None) -> str:
    """A share (0–1) as a percentage with one decimal, e.g. ``72.5%``."""
    return "—" if value is None else f"{value * 100:.1f}%"


def chinese_number(n: int) -> str:
    """Chinese numerals for the small counts a circular names (前十名, 三分之二); else digits."""
    if not 0 <= n < 100:
        return str(n)
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + ("" if ones == 0 else _DIGITS[ones])


def proportion_text(value: Any) -> str:
    """A rules proportion in words: ``2/3`` -> 三分之二, ``0.5`` -> 一半, ``0.55`` -> 55%."""
    frac = Fraction(str(value))
    if frac == Fraction(1, 2):
        return "一半"
    if 0 < frac < 1 and frac.denominator <= 10 and isinstance(value, str) and "/" in value:
        return f"{chinese_number(frac.denominator)}分之{chinese_number(frac.numerator)}"
    return f"{plain_number(frac * 100)}%"


def plain_number(value: Any) -> str:
    """A rules number as written (``100``, ``0.7``), without a float's trailing ``.0``."""
    frac = Fraction(str(value))
    if frac.denominator == 1:
        return str(frac.numerator)
    text = f"{float(frac):.6f}".rstrip("0").rstrip(".")
    return text if Fraction(text) == frac else f"{frac.numerator}/{frac.denominator}"


def chinese_date(iso: str | None, with_time: bool = False) -> str:
    """``2026-10-01T08:30:00+08:00`` -> 2026年10月1日 (8时30分); the local time as written."""
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso)
    text = f"{moment.year}年{moment.month}月{moment.day}日"
    if with_time:
        text += f"{moment.hour}时" + (f"{moment.minute}分" if moment.minute else "")
    return text


def describe_rules(rules: dict[str, Any], kind: str = "monthly") -> list[str]:
    """The rules a round was computed under, one Chinese sentence group per item (docs/rules.md).

    A circular must state its rules so anyone can recompute it; the sentences follow the rules
    dict, so a body with other settings gets its own numbers here.
    """
    sat = rules.get("satisfied_label", "满意")
    dis = rules.get("dissatisfied_label", "不满意")
    items: list[str] = []

    scale = rules.get("scale") or {}
    points = "、".join(f"“{label}”{plain_number(p)}分" for label, p in scale.items())
    text = f"评议选项及分值：{points}。" if points else ""
    no_vote = "、".join(f"“{label}”" for label in rules.get("no_vote") or [])
    if no_vote:
        text += f"选择{no_vote}的，不作为对该单位的有效票，不计分。"
    lo, hi = rules.get("numeric_range") or [0, 100]
    factor = Fraction(str(rules.get("numeric_factor", 1)))
    text += f"直接打分的，分值范围为{plain_number(lo)}—{plain_number(hi)}分"
    text += "。" if factor == 1 else f"，乘以{plain_number(factor)}后计分。"
    items.append("计分标准。" + text)

    criteria = rules.get("criteria") or []
    if len(criteria) > 1:
        parts = "、".join(f"{c['name']}（权重{plain_number(c['weight'])}）" for c in criteria)
        items.append(
            f"评议项目。每个单位按{parts}评议，评委对该单位的一票为其所评各项分值的加权平均值；"
            "各项均未评的，不计票。"
        )

    if kind in SUMMARY_KINDS:
        return [*items, *_summary_rules(rules, kind)]
    items.append(
        "有效评议表。评委对其应评单位（回避单位除外）中不少于"
        f"{proportion_text(rules.get('min_coverage', '0.5'))}的单位作出评价"
        f"（{no_vote or '“不了解”'}除外）的，评议表有效；否则评议表无效，其中各票均不计入。"
    )
    items.append(
        f"有效人数。有效评议表达到应到评委人数的{proportion_text(rules.get('quorum', '2/3'))}"
        "及以上的，本次评议有效；未达到的，结果照常通报，但注明未达有效票数。"
    )
    min_votes = rules.get("min_votes", 10)
    items.append(f"最低票数。单位有效票少于{min_votes}票的，列为“票数不足”，公布得分但不排名次。")

    trim, trim_min_n = rules.get("trim", 1), rules.get("trim_min_n", 7)
    if trim:
        items.append(
            f"得分计算。单位有效票达到{trim_min_n}票及以上的，去掉{trim}个最高分和{trim}个最低分"
            f"后取算术平均值；不足{trim_min_n}票的，直接取算术平均值。"
            "平均值按精确值计算，四舍五入保留两位小数，即为公布得分。"
        )
    else:
        items.append(
            "得分计算。单位得分为其全部有效票的算术平均值，按精确值计算，"
            "四舍五入保留两位小数，即为公布得分。"
        )

    group_weights = rules.get("group_weights") or {}
    if group_weights:
        parts = "、".join(f"{g}{plain_number(w)}" for g, w in group_weights.items())
        items.append(
            f"分类加权。按评委类别分别计分后加权平均，权重为{parts}；类别内票数达到"
            f"{trim_min_n}票的，在类别内去掉最高分和最低分；权重按实际参评的类别重新归一。"
        )

    items.append(
        "排名规则。各系统内排名和综合排名均按公布得分从高到低排列；得分相同的，依次比较"
        f"{sat}率（高者在前）、{dis}率（低者在前）、未去极值平均分（高者在前）、有效票数"
        "（多者在前）；仍相同的，名次并列（如1、2、2、4）。"
        f"{sat}率、{dis}率按计入有效票的选项计算。"
    )
    if rules.get("cross_system", "raw") == "zscore":
        items.append("跨系统比较。综合排名前，先在各系统内对得分作标准化处理（z分数）再比较。")
    else:
        items.append("跨系统比较。综合排名直接比较各单位的公布得分。")

    top, bottom = rules.get("top", 10), rules.get("bottom", 5)
    items.append(
        f"前{chinese_number(top)}名与后{chinese_number(bottom)}名。综合排名前{chinese_number(top)}名"
        f"为未被一票否决的前{top}个单位，后{chinese_number(bottom)}名为综合排名最后的{bottom}个"
        "单位；名次并列跨越名单界线的，并列单位全部列入。"
    )
    items.append(
        "一票否决。被一票否决的单位保留并公布得分，排在其他参与排名的单位之后，"
        f"不得列入前{chinese_number(top)}名，并优先列入后{chinese_number(bottom)}名。"
    )
    return items


# kind: (its name, a constituent's name, the constituents, where a carried veto comes from)
SUMMARY_KINDS = {
    "quarterly": ("季度", "月", "各月", "本季度任一月"),
    "semiannual": ("半年", "季度", "两个季度", "本半年任一季度或任一月"),
}


def _summary_rules(rules: dict[str, Any], kind: str) -> list[str]:
    """How a quarter's or half year's score follows from the published numbers (docs/rules.md,
    Summary rounds), so a reader can recompute it from the constituents' circulars."""
    name, part, parts, below = SUMMARY_KINDS[kind]
    weight = Fraction(str(rules.get("monthly_weight", "7/10")))
    own, leaders = f"{plain_number(weight * 100)}%", f"{plain_number((1 - weight) * 100)}%"
    trim_min_n = rules.get("trim_min_n", 7)
    top, bottom = rules.get("top", 10), rules.get("bottom", 5)
    return [
        f"县领导评分。县领导对各单位的评分按上述计分标准计算，1票即可计分；达到{trim_min_n}票的，"
        "去掉最高分和最低分后平均。",
        f"{name}得分。单位{name}得分＝{parts}公布得分的算术平均值（{part}均分）×{own}＋县领导评分"
        f"×{leaders}；县领导未评分的，{name}得分即为{part}均分。某{part}无得分的，按有得分的"
        f"{'月份' if part == '月' else part}平均；{parts}均无得分的，列为“票数不足”。按精确值计算，只在最后四舍五入保留"
        "两位小数。",
        f"排名规则。各系统内排名和综合排名均按{name}得分从高到低排列；得分相同的，{part}均分"
        "（精确值）高者在前；仍相同的，名次并列（如1、2、2、4）。",
        f"前{chinese_number(top)}名与后{chinese_number(bottom)}名。综合排名前{chinese_number(top)}名"
        f"为未被一票否决的前{top}个单位，后{chinese_number(bottom)}名为综合排名最后的{bottom}个"
        "单位；名次并列跨越名单界线的，并列单位全部列入。",
        f"一票否决。在{below}或本{name}被一票否决的单位，本{name}一票否决，"
        f"保留并公布得分，排在其他单位之后，不得列入前{chinese_number(top)}名。",
    ]
