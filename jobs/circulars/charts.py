"""Inline SVG charts for the circular, written as strings (no plotting library in the worker).

Every ``<text>`` names the CJK font explicitly: WeasyPrint follows the font-family chain and a
generic fallback can miss glyphs and print tofu boxes (docs/circulars.md). Every text value is
XML-escaped, because system and unit names are data.
"""

from __future__ import annotations

import logging
import math
import statistics
import unicodedata
from collections.abc import Iterable
from html import escape
from typing import Any

logger = logging.getLogger(__name__)

# No spaces after the commas: WeasyPrint 70 splits SVG font-family on "," without stripping.
FONT = "Noto Sans CJK SC,Noto Serif CJK SC,sans-serif"
_INK = "#222222"
_GRID = "#c8c8c8"
_RED = "#c00000"
_GREY = "#8a8a8a"

# Geometry in SVG user units; the SVG is scaled to the text width (156 mm), so one unit is
# about 0.71 pt and a 14-unit label prints at about 10 pt.
_WIDTH = 620
_RIGHT_PAD = 18
_ROW_H = 56
_TOP = 34
_AXIS_H = 50
_DOT_R = 4.5
_LABEL_SIZE = 15


def svg_text(
    x: float,
    y: float,
    value: str,
    size: float = 11,
    anchor: str = "start",
    fill: str = _INK,
    extra: str = "",
) -> str:
    """A label; the font is named on every <text> and the value is escaped (names are data).
    Every chart of the circular writes its text through here."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" '
        f'text-anchor="{anchor}" fill="{fill}"{extra}>{escape(value)}</text>'
    )


def text_width(value: str, size: float) -> float:
    """An estimate of a label's width: a CJK character is one em, anything else about 0.6."""
    wide = sum(1 for c in value if unicodedata.east_asian_width(c) in "WF" or c == "…")
    return size * (wide + 0.6 * (len(value) - wide))


def shorten(name: str, limit: int = 12) -> str:
    """At most ``limit`` characters on a chart; the full name stays in the alt text."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _axis_range(scores: Iterable[float]) -> tuple[float, float]:
    """Round the axis out to multiples of 5 so ticks are easy to read; never beyond 0–100."""
    values = list(scores)
    if not values:
        return 0.0, 100.0
    lo = max(0.0, math.floor(min(values) / 5) * 5)
    hi = min(100.0, math.ceil(max(values) / 5) * 5)
    if hi - lo < 10:
        lo, hi = max(0.0, hi - 10), max(10.0, hi)
    return lo, hi


def _swarm_offsets(xs: list[float], spacing: float, reach: float) -> list[float]:
    """Vertical offsets so dots closer than ``spacing`` stack (0, +1, -1, +2, ...) instead of
    hiding, never further than ``reach`` from the row's line: where a row is too crowded for
    that, the dot takes the free-est place within reach and overlaps (the chart then reads as
    density). Dots are placed in order of x, so only those within ``spacing`` to the left can
    collide: a sliding window keeps a 500-unit row linear, not quadratic."""
    offsets = [0.0] * len(xs)
    levels = int(reach // (spacing * 0.9))
    candidates = [
        ((k + 1) // 2) * (1 if k % 2 else -1) * spacing * 0.9 for k in range(2 * levels + 1)
    ]
    window: list[tuple[float, float]] = []  # placed dots with x within ``spacing`` of the last
    for i in sorted(range(len(xs)), key=lambda k: xs[k]):
        x = xs[i]
        window = [(px, py) for px, py in window if x - px < spacing]
        best, fewest = candidates[0], len(window) + 1
        for dy in candidates:
            clashes = sum(1 for _, py in window if abs(dy - py) < spacing)
            if clashes < fewest:
                best, fewest = dy, clashes
                if clashes == 0:
                    break
        offsets[i] = best
        window.append((x, best))
    return offsets


def _dot_radius(counts: list[int]) -> float:
    """Smaller dots for crowded rows: the full size up to 60 units in a system, then shrinking
    with the square root of the count (a county's ~25 a system keep the full size; a province's
    500 get about a third of it), so a swarm keeps to its row."""
    most = max(counts, default=0)
    return _DOT_R if most <= 60 else max(1.2, _DOT_R * math.sqrt(60 / most))


def _dot_style(status: str | None) -> str:
    if status == "vetoed":
        return f'fill="{_RED}" stroke="{_RED}"'
    if status == "insufficient":
        return f'fill="#ffffff" stroke="{_GREY}"'
    return f'fill="{_INK}" fill-opacity="0.75" stroke="{_INK}"'


# Painted in this order: the units without a rank over the ranked, the vetoed on top.
_STATUS_ORDER = {"ranked": 0, "insufficient": 1, "vetoed": 2}


def _dot_paths(dots: list[tuple[str | None, float, float]], r: float, width: float) -> list[str]:
    """The dots of one row as a few ``<path>`` elements, each dot a circle of two arcs.

    A province's score chart has 2,000 dots; as ``<circle>`` elements they cost WeasyPrint about
    1 s of the circular's 20 s budget (parsing and drawing one element each). A path per style
    draws the same thing, but overlapping dots inside one path would be filled once, losing
    the darker overlaps that make a crowded row read as density. So each style's dots are dealt
    into layers in which no two dots touch (each dot to the first layer where it is clear of
    every dot placed so far), one path per layer: every overlap is still two separately
    painted shapes. A swarm is a handful of layers deep; a county's rows are one."""
    reach = 2 * r + width  # closer than this, two dots' strokes touch
    layers: dict[str, list[list[tuple[float, float]]]] = {}
    for status, x, y in sorted(dots, key=lambda d: (_STATUS_ORDER.get(d[0] or "", 3), d[1])):
        key = status or ""
        for layer in layers.setdefault(key, []):
            if _clear(layer, x, y, reach):
                layer.append((x, y))
                break
        else:
            layers[key].append([(x, y)])
    paths = []
    for key, groups in layers.items():
        for layer in groups:
            d = "".join(
                f"M{x - r:.2f} {y:.1f}a{r:.2f} {r:.2f} 0 1 0 {2 * r:.2f} 0"
                f"a{r:.2f} {r:.2f} 0 1 0 {-2 * r:.2f} 0z"
                for x, y in layer
            )
            paths.append(
                f'<path class="dots" d="{d}" {_dot_style(key or None)} stroke-width="{width:.2f}"/>'
            )
    return paths


def _clear(layer: list[tuple[float, float]], x: float, y: float, reach: float) -> bool:
    """Whether a dot at (x, y) is at least ``reach`` from every dot of ``layer``, whose dots
    were added in order of x: only those from the end back to ``reach`` to the left can be
    that close."""
    for px, py in reversed(layer):
        if x - px >= reach:
            return True
        if (x - px) ** 2 + (y - py) ** 2 < reach**2:
            return False
    return True


def _legend(x: float) -> list[str]:
    parts = []
    for status, label in (
        ("ranked", "参与排名"),
        ("insufficient", "票数不足"),
        ("vetoed", "一票否决"),
    ):
        parts.append(f'<circle cx="{x + 5:.1f}" cy="13" r="{_DOT_R}" {_dot_style(status)}/>')
        parts.append(svg_text(x + 15, 18, label, size=13))
        x += 92
    parts.append(
        f'<line x1="{x + 4:.1f}" y1="5" x2="{x + 4:.1f}" y2="21" stroke="{_RED}" stroke-width="2"/>'
    )
    parts.append(svg_text(x + 12, 18, "中位数", size=13))
    return parts


def score_distribution_svg(units: list[dict[str, Any]], systems: list[str]) -> str:
    """A strip plot: one row per system, a dot per unit at its score, the median as a tick.

    Chosen over a histogram because ~25 units per system is too few for stable bins, and a dot
    per unit shows the spread, the outliers and the vetoed/insufficient units at once. Units
    without a score (no votes) are counted in the row label but not drawn.
    """
    scored = [u for u in units if u.get("score") is not None]
    lo, hi = _axis_range(u["score"] for u in scored)
    # Systems are data: the label column grows with the longest name.
    label_w = max(80, _LABEL_SIZE * max((len(s) for s in systems), default=3) + 24)
    plot_w = _WIDTH - label_w - _RIGHT_PAD
    bottom = _TOP + _ROW_H * len(systems)
    height = bottom + _AXIS_H

    def x_of(score: float) -> float:
        return label_w + (score - lo) / (hi - lo) * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" '
        'role="img" class="chart">',  # no width/height: CSS scales it to the text width
        *_legend(label_w),
    ]
    step = 5 if hi - lo <= 40 else 10
    tick = lo
    while tick <= hi + 1e-9:
        x = x_of(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{_TOP - 4}" x2="{x:.1f}" y2="{bottom}" '
            f'stroke="{_GRID}" stroke-width="0.6"/>'
        )
        parts.append(svg_text(x, bottom + 18, f"{tick:g}", size=13, anchor="middle"))
        tick += step
    parts.append(svg_text(label_w + plot_w / 2, bottom + 42, "得分", size=13, anchor="middle"))

    summary: list[str] = []  # the alt text, one clause per system
    radius = _dot_radius([sum(1 for u in scored if u.get("system") == s) for s in systems])
    for row, system in enumerate(systems):
        members = [u for u in scored if u.get("system") == system]
        total = sum(1 for u in units if u.get("system") == system)
        cy = _TOP + _ROW_H * row + _ROW_H / 2
        parts.append(svg_text(label_w - 12, cy - 1, system, size=_LABEL_SIZE, anchor="end"))
        parts.append(
            svg_text(label_w - 12, cy + 15, f"{total}个单位", size=11.5, anchor="end", fill=_GREY)
        )
        parts.append(
            f'<line x1="{label_w}" y1="{cy:.1f}" x2="{label_w + plot_w}" y2="{cy:.1f}" '
            f'stroke="{_GRID}" stroke-width="0.8"/>'
        )
        if not members:
            summary.append(f"{system}{total}个单位，无得分")
            continue
        scores = [u["score"] for u in members]
        median = statistics.median(scores)
        summary.append(
            f"{system}{total}个单位，得分{min(scores):.2f}至{max(scores):.2f}，中位数{median:.2f}"
        )
        xs = [x_of(score) for score in scores]
        offsets = _swarm_offsets(xs, radius * 2.1, _ROW_H / 2 - radius - 2)
        width = min(0.8, radius / 3)
        dots = [
            (u.get("status"), x, cy + dy) for u, x, dy in zip(members, xs, offsets, strict=True)
        ]
        parts += _dot_paths(dots, radius, width)
        mx = x_of(median)
        parts.append(
            f'<line x1="{mx:.1f}" y1="{cy - 19:.1f}" x2="{mx:.1f}" y2="{cy + 19:.1f}" '
            f'stroke="{_RED}" stroke-width="2"/>'
        )

    parts.insert(1, f"<title>{escape('各系统单位得分分布：' + '；'.join(summary))}</title>")
    parts.append("</svg>")
    return "".join(parts)
