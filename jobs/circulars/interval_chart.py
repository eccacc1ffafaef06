"""The rank-interval chart of the circular's reliability section: an inline SVG, one row per unit.

Why a picture: a bottom-list verdict of "tied" is hard to believe from a sentence alone; a row of
intervals that all reach across the bottom-list cut shows at a glance that the official order
among them is partly luck of the draw. Written as a string in the conventions of charts.py: no
plotting library, a ``viewBox`` without width/height so CSS scales it to the 156 mm text width,
the CJK font named on every ``<text>`` (a generic fallback prints tofu), every text value
XML-escaped (unit names are data) and a ``<title>`` that lists every row, for readers who cannot
see the picture and for text extraction.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from html import escape

from jobs.circulars.charts import shorten, svg_text, text_width

logger = logging.getLogger(__name__)

# The palette of charts.py, whose constants are private: keep these the same values.
_INK = "#222222"
_RED = "#c00000"
_GRID = "#c8c8c8"
_GREY = "#8a8a8a"
_ZONE = "#fbeaea"  # the bottom-list side of the cut, faint enough to print grey on a laser

# Geometry in SVG user units; scaled to the 156 mm text width one unit is about 0.71 pt, so a
# 12.5-unit label prints at about 9 pt and 15 rows take about a third of the 225 mm page.
_WIDTH = 620
_ROW = 15.5
_LABEL_SIZE = 12.5
_MAX_CHARS = 12
_TOP = 36  # y of the first row's top edge: below the legend
_AXIS_H = 34
_VERDICT_W = 44  # the 确定/并列 column on the right
_DOT_R = 3.4

VERDICT_WORDS = {"confirmed": "确定", "tied": "并列"}
_VETO_WORD = "否决"


@dataclass(frozen=True)
class IntervalRow:
    """One unit on the chart: its official overall rank, the 90% interval of that rank
    (inclusive; None when the engine has none), whether it is in the bottom list, the verdict
    on it ("confirmed", "tied" or "" for units outside the list) and whether it was vetoed
    (placed last by decision, not by its score)."""

    name: str
    rank: int | None
    lo: int | None = None
    hi: int | None = None
    bottom: bool = False
    verdict: str = ""
    vetoed: bool = False


_text = partial(svg_text, size=_LABEL_SIZE)
_text_width = text_width
_shorten = partial(shorten, limit=_MAX_CHARS)


def _clean(rows: Sequence[IntervalRow]) -> list[IntervalRow]:
    """Rows with a rank, best first (worst at the bottom), an interval turned the right way
    round and widened to take in the official rank: a malformed engine row must not stop a
    circular. Rows without a rank cannot be placed on a rank axis and are left out."""
    kept = []
    for row in rows:
        if row.rank is None:
            logger.warning("interval chart: %s has no rank and is not drawn", row.name)
            continue
        lo, hi = row.lo, row.hi
        if lo is None or hi is None:
            lo = hi = None
        else:
            lo, hi = min(lo, hi, row.rank), max(lo, hi, row.rank)
        kept.append(IntervalRow(row.name, row.rank, lo, hi, row.bottom, row.verdict, row.vetoed))
    # Vetoed units sit last by decision; the engine's ranks say so too, the sort makes sure.
    return sorted(kept, key=lambda r: (r.vetoed, r.rank, r.name))


def _ticks(lo: float, hi: float) -> list[int]:
    """Rank ticks at 1, 2, 5, 10 or 20 apart, whichever gives at most about ten."""
    span = hi - lo
    step = next((s for s in (1, 2, 5, 10, 20, 50) if span / s <= 10), 100)
    first = math.ceil(lo / step) * step
    return [t for t in range(max(1, first), math.floor(hi) + 1, step)]


def _verdict(row: IntervalRow) -> tuple[str, str]:
    """The right-hand word and its colour: only bottom-list rows get one."""
    if not row.bottom:
        return "", _INK
    if row.vetoed:
        return _VETO_WORD, _RED
    word = VERDICT_WORDS.get(row.verdict, "")
    return word, _RED if row.verdict == "confirmed" else _INK


def _alt_text(rows: list[IntervalRow], bottom_n: str, level: str) -> str:
    clauses = []
    for r in rows:
        clause = f"{r.name}第{r.rank}名"
        if r.lo is not None:
            clause += f"，区间第{r.lo}至{r.hi}名" if r.lo != r.hi else f"，区间仅第{r.lo}名"
        if r.bottom:
            clause += (
                "，一票否决"
                if r.vetoed
                else {"confirmed": "，确定", "tied": "，并列"}.get(r.verdict, "")
            )
            clause += f"（后{bottom_n}名）"
        clauses.append(clause)
    return (
        f"综合名次的{level}置信区间："
        + ("；".join(clauses) if clauses else "无可绘制的单位")
        + "。"
    )


def _legend(x: float, bottom_n: str, level: str) -> list[str]:
    """What the marks mean, on one line above the plot."""
    y = 16.0
    parts = [
        f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 22:.1f}" y2="{y:.1f}" stroke="{_GREY}" '
        'stroke-width="2"/>',
        f'<circle cx="{x + 11:.1f}" cy="{y:.1f}" r="{_DOT_R}" fill="{_INK}"/>',
        _text(x + 28, y + 4.5, f"{level}置信区间与正式名次", size=12),
    ]
    x += 28 + _text_width(f"{level}置信区间与正式名次", 12) + 14
    parts += [
        f'<circle cx="{x + 4:.1f}" cy="{y:.1f}" r="{_DOT_R}" fill="{_RED}"/>',
        _text(x + 12, y + 4.5, "确定", size=12),
        f'<circle cx="{x + 50:.1f}" cy="{y:.1f}" r="{_DOT_R}" fill="#ffffff" stroke="{_RED}" '
        'stroke-width="1.4"/>',
        _text(x + 58, y + 4.5, "并列", size=12),
        f'<rect x="{x + 93:.1f}" y="{y - _DOT_R:.1f}" width="{2 * _DOT_R:.1f}" '
        f'height="{2 * _DOT_R:.1f}" fill="{_RED}"/>',
        _text(x + 104, y + 4.5, "一票否决", size=12),
    ]
    x += 104 + _text_width("一票否决", 12) + 14
    parts += [
        f'<line x1="{x + 4:.1f}" y1="{y - 8:.1f}" x2="{x + 4:.1f}" y2="{y + 8:.1f}" '
        f'stroke="{_RED}" stroke-width="1.2" stroke-dasharray="3 2"/>',
        _text(x + 11, y + 4.5, f"后{bottom_n}名分界", size=12),
    ]
    return parts


def rank_interval_svg(rows: Sequence[IntervalRow], bottom_n: str = "五", level: str = "90%") -> str:
    """The chart: one row per unit, best at the top, x the overall rank (rank 1 towards the
    left); the interval as a line, the official rank as a dot, the bottom-list cut as a dashed
    vertical line half-way between the last rank outside the list and the first inside it.

    ``bottom_n`` is the list's size in words (后五名) and ``level`` the intervals' coverage as
    printed ("90%"), for the legend and the alt text.
    """
    cleaned = _clean(rows)
    label_w = 8 + max(
        (_text_width(_shorten(r.name), _LABEL_SIZE) for r in cleaned),
        default=_LABEL_SIZE * 4,
    )
    label_w = max(label_w, 90.0)
    plot_left, plot_right = label_w + 8, _WIDTH - _VERDICT_W - 6
    ends = [v for r in cleaned for v in (r.lo, r.hi, r.rank) if v is not None]
    lo_rank, hi_rank = (min(ends), max(ends)) if ends else (1, 1)
    # Half a rank of room at either end so an end dot is never cut by the frame.
    axis_lo, axis_hi = lo_rank - 0.5, hi_rank + 0.5
    if axis_hi - axis_lo < 4:
        centre = (axis_lo + axis_hi) / 2
        axis_lo, axis_hi = centre - 2, centre + 2

    def x_of(rank: float) -> float:
        return plot_left + (rank - axis_lo) / (axis_hi - axis_lo) * (plot_right - plot_left)

    plot_top = _TOP
    plot_bottom = _TOP + _ROW * max(1, len(cleaned))
    height = plot_bottom + _AXIS_H
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height:.0f}" '
        'role="img" class="chart interval-chart">',  # no width/height: CSS scales it
        f"<title>{escape(_alt_text(cleaned, bottom_n, level))}</title>",
        *_legend(plot_left, bottom_n, level),
    ]

    inside = [r.rank for r in cleaned if r.bottom and r.rank is not None]
    outside = [r.rank for r in cleaned if not r.bottom and r.rank is not None]
    cut = None
    if inside:
        first_in = min(inside)
        before = [r for r in outside if r < first_in]
        cut = (max(before) + first_in) / 2 if before else first_in - 0.5
        cx = x_of(cut)
        parts.append(
            f'<rect class="bottom-zone" x="{cx:.1f}" y="{plot_top - 4}" '
            f'width="{plot_right - cx:.1f}" height="{plot_bottom - plot_top + 4:.1f}" '
            f'fill="{_ZONE}"/>'
        )

    for tick in _ticks(axis_lo, axis_hi):
        x = x_of(tick)
        parts.append(
            f'<line class="tick" x1="{x:.1f}" y1="{plot_top - 4}" x2="{x:.1f}" '
            f'y2="{plot_bottom:.1f}" stroke="{_GRID}" stroke-width="0.5"/>'
        )
        parts.append(
            _text(x, plot_bottom + 14, str(tick), size=11.5, anchor="middle", extra=' class="tick"')
        )
    parts.append(
        _text((plot_left + plot_right) / 2, plot_bottom + 28, "综合名次", size=12, anchor="middle")
    )
    if cut is not None:
        cx = x_of(cut)
        parts.append(
            f'<line class="cut" x1="{cx:.1f}" y1="{plot_top - 8}" x2="{cx:.1f}" '
            f'y2="{plot_bottom:.1f}" stroke="{_RED}" stroke-width="1.2" stroke-dasharray="4 3"/>'
        )

    for i, row in enumerate(cleaned):
        cy = plot_top + _ROW * i + _ROW / 2
        colour = _RED if row.bottom else _GREY
        parts.append(
            _text(label_w, cy + 4.3, _shorten(row.name), anchor="end",
                  fill=_RED if row.bottom else _INK, extra=' class="name"')
        )  # fmt: skip
        if row.lo is not None and row.hi is not None:
            x1, x2 = x_of(row.lo), x_of(row.hi)
            if x2 - x1 < 1:  # an interval of one rank still shows as a short bar
                x1, x2 = x1 - 1.5, x2 + 1.5
            dash = ' stroke-dasharray="4 2"' if row.vetoed else ""
            parts.append(
                f'<line class="interval" x1="{x1:.1f}" y1="{cy:.1f}" x2="{x2:.1f}" '
                f'y2="{cy:.1f}" stroke="{colour}" stroke-width="2.2"{dash}/>'
            )
        x = x_of(row.rank)  # type: ignore[arg-type]  # _clean keeps ranked rows only
        if row.vetoed:
            parts.append(
                f'<rect class="rank" x="{x - _DOT_R:.1f}" y="{cy - _DOT_R:.1f}" '
                f'width="{2 * _DOT_R:.1f}" height="{2 * _DOT_R:.1f}" fill="{_RED}"/>'
            )
        elif row.bottom and row.verdict != "confirmed":
            parts.append(
                f'<circle class="rank" cx="{x:.1f}" cy="{cy:.1f}" r="{_DOT_R}" fill="#ffffff" '
                f'stroke="{_RED}" stroke-width="1.4"/>'
            )
        else:
            fill = _RED if row.bottom else _INK
            parts.append(
                f'<circle class="rank" cx="{x:.1f}" cy="{cy:.1f}" r="{_DOT_R}" fill="{fill}"/>'
            )
        word, fill = _verdict(row)
        if word:
            parts.append(
                _text(_WIDTH - 4, cy + 4.3, word, anchor="end", fill=fill,
                      extra=' class="verdict" font-weight="bold"')
            )  # fmt: skip
    if not cleaned:
        parts.append(
            _text(_WIDTH / 2, plot_top + _ROW / 2 + 4, "无可绘制的单位", anchor="middle",
                  fill=_GREY)
        )  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)
