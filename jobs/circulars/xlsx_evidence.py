"""票数分布: the circular's evidence (``jobs.circulars.evidence``) as a sheet of its own, so a
reader in Excel sees the same histograms the JSON carries (docs/verify.md).

One row per unit (per evaluator group when group weights are set): its votes, the histogram as
exact text, highest value first (``100×40；70×30；175/2×1``: a value as the JSON writes it, times
how many votes had it), and the label counts the tie-breaks use. Text, not numbers, because a
value such as 175/2 has no exact binary form and the point is that nothing is rounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment

NUMERIC_LABEL = "数值评分"


def histogram_text(histogram: dict[str, int]) -> str:
    """``{"100": 40, "70": 30}`` → ``100×40；70×30`` (the JSON's order: highest value first)."""
    return "；".join(f"{value}×{count}" for value, count in histogram.items())


def evidence_sheet(wb: Workbook, circular: dict[str, Any], make_sheet: Callable) -> None:
    """Add 票数分布 when the circular carries evidence; ``make_sheet`` is xlsx.py's ``_sheet``."""
    evidence = circular.get("evidence")
    if not evidence or not evidence.get("units"):
        return
    units = circular["ranking"].get("units") or []
    leaders = (circular.get("round") or {}).get("kind", "monthly") != "monthly"
    labels = [*((circular.get("rules") or {}).get("scale") or {}), "numeric"]
    headers = ["单位代码", "单位名称", "所属系统", "评委组", "票数",
               "领导评分票数分布（分值×票数）" if leaders else "票数分布（分值×票数）",
               *(NUMERIC_LABEL if label == "numeric" else label for label in labels)]  # fmt: skip
    ws = make_sheet(wb, "票数分布", headers, [12, 30, 10, 12, 7, 60, *([9] * len(labels))])
    # The row each append fills, counted here: ``ws.max_row`` looks at every cell of the sheet,
    # so asking it per row took 2 s for a province round's 2,000 units.
    row = ws.max_row
    for u in units:
        one = evidence["units"].get(u["code"]) or {}
        one = one.get("leaders", one)
        groups = one.get("histograms") or {"全体": one.get("histogram") or {}}
        counts = one.get("labels") or {}
        for i, (group, histogram) in enumerate(groups.items()):
            # Label counts are per unit, over every group: on the unit's first row only.
            tally = [counts.get(label, 0) for label in labels] if i == 0 else []
            ws.append(
                [u["code"], u.get("name"), u.get("system"), group, sum(histogram.values()),
                 histogram_text(histogram) or None, *tally]
            )  # fmt: skip
            row += 1
            ws.cell(row, 6).alignment = Alignment(wrap_text=True, vertical="top")
    ws.append([])
    ws.append(["说明", "分值按JSON原样书写（分数形式如175/2为精确值）；评委组“全体”为各组合计；"
               "标签计数为该单位各指标作答之和（各组合计），数值评分合计为一项。"])  # fmt: skip
    if evidence.get("withheld"):
        ws.append(["说明", evidence["withheld"]])
