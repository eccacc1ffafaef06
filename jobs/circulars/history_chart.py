"""The rank-over-months chart of the quarterly and half-year circulars: an inline SVG bump chart.

Written as a string like the score chart (jobs/circulars/charts.py, whose conventions it follows):
no plotting library, a ``viewBox`` and no width/height so CSS scales it to the 156 mm text width,
the CJK font named on every ``<text>`` (a generic fallback prints tofu), every text value
XML-escaped (unit and system names are data), and a ``<title>`` that says in Chinese what the
picture shows, for readers who cannot see it and for text extraction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from html import escape

from jobs.circulars.charts import shorten, svg_text, text_width

logger = logging.getLogger(__name__)

# The palette of charts.py, whose constants are private: keep these the same values.
_INK = "#222222"  # charts._INK: "top" lines, text
_RED = "#c00000"  # charts._RED: "bottom" and "vetoed" lines
_GRID = "#c8c8c8"  # charts._GRID: the grid every 5 ranks
_GREY = "#8a8a8a"  # charts._GREY: axis captions, leader lines
_LINE_GREY = "#bdbdbd"  # ordinary lines: light, so 25 of them stay a background
_LABEL_GREY = "#555555"  # ordinary labels: darker than their line, to stay legible at 7.5 pt
_GUIDE = "#e6e6e6"  # the faint vertical guide at each period

# Geometry in SVG user units; scaled to the 156 mm text width one unit is about 0.71 pt
# (0.25 mm). Two charts and their captions must share an A4 page (225 mm of text block), so a
# chart is at most _FIT_HEIGHT tall (about 96 mm) while its ranks are at least _ROW_MIN apart:
# the rows shrink with the number of ranks, down to 1.6 mm (50 ranks), and only a system larger
# than that gets a taller chart. Names print at 7.5 pt (六号), ranks and months at 7.5-8 pt.
_WIDTH = 620
_FIT_HEIGHT = 380.0
_ROW_MAX = 12.0  # per rank, for small systems: no need to squeeze them
_ROW_MIN = 6.5  # per rank at the least: lines 1.6 mm apart can still be followed
_LABEL_SIZE = 10.5
_LABEL_H = 11.0  # the least distance between the centres of two labels in one column
_LABEL_GAP = 8  # from a line's last point to its label
_COLUMN_GAP = 8  # between the two columns of names, when the rows are closer than a label
_MAX_CHARS = 12
_TITLE_SIZE = 12.5
_AXIS_SIZE = 10.5  # rank numbers and the legend
_PERIOD_SIZE = 11
_PLOT_LEFT = 30  # the rank numbers sit left of this
_PERIOD_PAD = 24  # room for a centred period label such as "第三季度" at either end
_HEAD = 12  # baseline of the heading row (and of the legend, when it fits beside the heading)
_BELOW_HEAD = 24  # from the last heading row's baseline to rank 1

# Marks in drawing order: ordinary lines first so a marked line is never hidden under them.
_MARKS = ("", "top", "bottom", "vetoed")
_STYLE = {  # stroke, width, dash, label colour
    "": (_LINE_GREY, 0.9, "", _LABEL_GREY),
    "top": (_INK, 1.7, "", _INK),
    "bottom": (_RED, 1.7, "", _RED),
    "vetoed": (_RED, 1.7, "4 2.5", _RED),
}
_Line = tuple[str, tuple[int | None, ...], str]  # name, one rank per period, mark
_MARK_WORDS = {"": "", "top": "（前列）", "bottom": "（后列）", "vetoed": "（一票否决）"}
_LEGEND = (("top", "前列单位"), ("bottom", "后列单位"), ("vetoed", "一票否决"), ("", "其他单位"))
_BELOW_PLOT = 21  # from the last rank to the foot: the month labels under the plot


@dataclass(frozen=True)
class RankLine:
    """One unit's ranks in its system, one per period (None: not ranked that period — too few
    votes, or not evaluated).

    ``mark`` says how the unit stands in the latest round and picks its colour: "" (ordinary),
    "top" (in the top list now), "bottom" (in the bottom list now) or "vetoed". The caller decides
    the mark because the lists and vetoes are the ranking's, not the chart's, to work out.
    """

    name: str
    ranks: tuple[int | None, ...]
    mark: str = ""


_text = partial(svg_text, size=_LABEL_SIZE)
_text_width = text_width
_shorten = partial(shorten, limit=_MAX_CHARS)


def _spread(desired: list[float], low: float) -> list[float]:
    """Centres for labels wanted at ``desired`` (sorted), at least _LABEL_H apart, in order.

    Overlapping labels form a cluster that sits centred on what its members want, so a tie
    moves both labels half a step rather than one label a whole step; no centre goes above
    ``low``. Clusters are merged until none overlaps the one above it.
    """
    clusters: list[list[float]] = []  # [top centre, count, sum of wanted tops]
    for want in desired:
        clusters.append([max(low, want), 1, want])
        while len(clusters) > 1:
            above, below = clusters[-2], clusters[-1]
            if above[0] + above[1] * _LABEL_H <= below[0] + 1e-9:
                break
            count = above[1] + below[1]
            wanted = above[2] + below[2] - above[1] * below[1] * _LABEL_H
            clusters[-2:] = [[max(low, wanted / count), count, wanted]]
    return [top + k * _LABEL_H for top, count, _ in clusters for k in range(int(count))]


def _clean(lines: Sequence[RankLine], periods: int) -> list[_Line]:
    """Each line with exactly one rank per period (padded or cut), ranks below 1 dropped and an
    unknown mark drawn as ordinary: a malformed history must not stop a circular."""
    cleaned = []
    for line in lines:
        ranks = tuple(line.ranks)
        if len(ranks) != periods:
            logger.warning(
                "history chart: %s has %d ranks for %d periods", line.name, len(ranks), periods
            )
            ranks = (ranks + (None,) * periods)[:periods]
        if any(r is not None and r < 1 for r in ranks):
            logger.warning("history chart: %s has a rank below 1, left out", line.name)
            ranks = tuple(r if r is None or r >= 1 else None for r in ranks)
        mark = line.mark
        if mark not in _STYLE:
            logger.warning(
                "history chart: %s has unknown mark %r, drawn as ordinary", line.name, mark
            )
            mark = ""
        cleaned.append((line.name, ranks, mark))
    return cleaned


def _runs(ranks: tuple[int | None, ...]) -> list[list[tuple[int, int]]]:
    """The (period, rank) points of each unbroken stretch: a None breaks the line."""
    runs: list[list[tuple[int, int]]] = [[]]
    for i, rank in enumerate(ranks):
        if rank is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((i, rank))
    return [run for run in runs if run]


def _span_word(periods: Sequence[str]) -> str:
    """The span in words for the alt text ("近3个月", "近2个季度", else "近2期"), read off the
    period labels, since the same chart serves months, quarters and half-years."""
    n = len(periods)
    if periods and all(p.endswith("月") for p in periods):
        return f"近{n}个月"
    if periods and all(p.endswith("季度") for p in periods):
        return f"近{n}个季度"
    return f"近{n}期"


def _alt_text(system: str, periods: Sequence[str], cleaned: list[_Line]) -> str:
    """One clause per unit, ranks oldest first, "—" for an unranked period."""
    clauses = []
    for name, ranks, mark in cleaned:
        if all(r is None for r in ranks):
            clauses.append(f"{name} 未排名")
        else:
            path = "→".join("—" if r is None else str(r) for r in ranks)
            clauses.append(f"{name}{_MARK_WORDS[mark]} {path}")
    body = "；".join(clauses) if clauses else "无排名数据"
    return f"{system}系统各单位{_span_word(periods)}系统内名次：{body}"


def _legend_width() -> float:
    return sum(36 + _text_width(label, _AXIS_SIZE) for _, label in _LEGEND) - 14


def _legend(x: float, y: float) -> list[str]:
    parts = []
    for mark, label in _LEGEND:
        stroke, width, dash, _ = _STYLE[mark]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x:.1f}" y1="{y - 3.5:.1f}" x2="{x + 18:.1f}" y2="{y - 3.5:.1f}" '
            f'stroke="{stroke}" stroke-width="{width}"{dash_attr}/>'
        )
        parts.append(f'<circle cx="{x + 9:.1f}" cy="{y - 3.5:.1f}" r="2.4" fill="{stroke}"/>')
        parts.append(_text(x + 22, y, label, size=_AXIS_SIZE))
        x += 36 + _text_width(label, _AXIS_SIZE)
    return parts


def _heading(system: str, periods: Sequence[str]) -> tuple[list[str], float]:
    """The chart's heading, with the legend beside it when both fit on one row (they do for
    system names of up to about ten characters), else under it; and the y of rank 1."""
    n = len(periods)
    span = f"（{periods[0]}—{periods[-1]}）" if n > 1 else (f"（{periods[0]}）" if n else "")
    heading = f"{system}系统各单位名次{span}"
    parts = [_text(0, _HEAD, heading, size=_TITLE_SIZE, extra=' font-weight="bold"')]
    legend_w = _legend_width()
    if _text_width(heading, _TITLE_SIZE) * 1.05 + 20 + legend_w <= _WIDTH:  # bold is wider
        return parts + _legend(_WIDTH - legend_w, _HEAD), _HEAD + _BELOW_HEAD
    return parts + _legend(0, _HEAD + 16), _HEAD + 16 + _BELOW_HEAD


def _row_pitch(depth: int, top: float) -> float:
    """The distance between two ranks: as much as lets the chart fit in _FIT_HEIGHT, between
    _ROW_MIN and _ROW_MAX."""
    if depth <= 1:
        return _ROW_MAX
    room = (_FIT_HEIGHT - top - _BELOW_PLOT) / (depth - 1)
    return min(_ROW_MAX, max(_ROW_MIN, room))


def _place_labels(labels: list[list], n: int, shift: float, low: float) -> dict[int, float]:
    """The centre y of each label ([left x, right x, wanted y, index, last period]; the x are
    moved here for the second column).

    Rows closer than a label is tall (``shift`` > 0) put the names of the lines that reach the
    last period in two columns, alternately in rank order, so that names in one column are two
    rows apart; the second column is ``shift`` further right. Then labels whose horizontal
    extents overlap share one vertical stack and are pushed apart in it (_spread)."""
    if shift:
        margin = sorted((lb for lb in labels if lb[4] == n - 1), key=lambda lb: (lb[2], lb[3]))
        for lb in margin[1::2]:
            lb[0] += shift
            lb[1] += shift
    placed: dict[int, float] = {}
    groups: list[list[list]] = []
    for lb in sorted(labels, key=lambda lb: lb[0]):
        if groups and lb[0] < max(other[1] for other in groups[-1]):
            groups[-1].append(lb)
        else:
            groups.append([lb])
    for group in groups:
        group.sort(key=lambda lb: (lb[2], lb[3]))  # by rank, ties in the caller's order
        for lb, y in zip(group, _spread([lb[2] for lb in group], low), strict=True):
            placed[lb[3]] = y
    return placed


def rank_history_svg(
    system: str, periods: Sequence[str], lines: Sequence[RankLine], *, rank_count: int | None = None
) -> str:
    """A bump chart of rank in system over periods (oldest first): one line per unit, rank 1 at
    the top, so a reader sees at a glance who climbed, who fell and who stayed at the bottom.

    Chosen over a table of ranks because the circular already prints the tables; the chart is
    for the movement. Ordinary units are light grey and drawn first; the units the circular
    names (top list, bottom list, vetoed) are drawn over them in ink or red. A period where a
    unit was not ranked breaks its line. Each line is labelled at its last ranked point; labels
    that would collide are pushed apart, in rank order, with a leader line to their point.
    The rows are as close as lets two charts share a page (_row_pitch); when they are closer
    than a name is tall, the names in the right margin alternate between two columns, those of
    the second joined to their line by a leader.
    ``rank_count`` (default: the largest rank given) sets the depth of the axis; a larger rank
    given raises it. Degenerate input (no lines, one period, a unit never ranked) draws what it can.
    """
    cleaned = _clean(lines, len(periods))
    given = [r for _, ranks, _ in cleaned for r in ranks if r is not None]
    depth = max([rank_count or 0, *given]) or 5
    if rank_count is not None and given and max(given) > rank_count:
        logger.warning("history chart: %s has rank %d beyond %d", system, max(given), rank_count)

    # The vertical scale first (it depends on the heading's rows), then the dots' size with it.
    head, top = _heading(system, periods)
    row = _row_pitch(depth, top)
    dot_r = min(2.8, 0.3 * row)  # dots never touch on neighbouring ranks
    two_columns = row < _LABEL_H

    # Labels: one per drawn line, its text shortened; the right margin grows with the longest.
    drawn = [
        (name, ranks, mark) for name, ranks, mark in cleaned if any(r is not None for r in ranks)
    ]
    shown = [_shorten(name) for name, _, _ in drawn]
    longest = max((_text_width(s, _LABEL_SIZE) for s in shown), default=0)
    shift = longest + _COLUMN_GAP if two_columns else 0
    right = _LABEL_GAP + longest + shift + 4
    first_x = _PLOT_LEFT + _PERIOD_PAD
    last_x = max(first_x + 60, _WIDTH - max(right, _PERIOD_PAD))
    n = len(periods)

    def x_of(i: int) -> float:
        return (first_x + last_x) / 2 if n == 1 else first_x + i * (last_x - first_x) / (n - 1)

    def y_of(rank: int) -> float:
        return top + (rank - 1) * row

    # Place the labels before sizing the picture: pushed-apart labels may need room below.
    labels = []  # [left x, right x, y of its point, index into drawn, its last ranked period]
    for index, (_, ranks, _) in enumerate(drawn):
        last = max(i for i, r in enumerate(ranks) if r is not None)
        x0 = x_of(last) + _LABEL_GAP
        labels.append(
            [x0, x0 + _text_width(shown[index], _LABEL_SIZE), y_of(ranks[last]), index, last]
        )
    placed = _place_labels(labels, n, shift, top - 12)

    bottom = y_of(depth)
    axis_y = max([bottom + 5, *(y + _LABEL_H / 2 for y in placed.values())]) + 12
    height = axis_y + 4

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height:.0f}" '
        'role="img" class="chart">',  # no width/height: CSS scales it to the text width
        f"<title>{escape(_alt_text(system, periods, cleaned))}</title>",
        *head,
        _text(_PLOT_LEFT - 6, top - 9, "名次", size=_AXIS_SIZE, anchor="end", fill=_GREY),
    ]
    for i in range(n):
        x = x_of(i)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 5:.1f}" x2="{x:.1f}" y2="{bottom + 5:.1f}" '
            f'stroke="{_GUIDE}" stroke-width="0.6"/>'
        )
        parts.append(_text(x, axis_y, periods[i], size=_PERIOD_SIZE, anchor="middle"))
    ticks = [1, *range(5, depth + 1, 5)]
    if depth not in ticks and (depth - ticks[-1] >= 3 or depth < 5):
        ticks.append(depth)  # the last rank, unless too close to the tick above to print both
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{_PLOT_LEFT:.1f}" y1="{y:.1f}" x2="{last_x + 5:.1f}" y2="{y:.1f}" '
            f'stroke="{_GRID}" stroke-width="0.6"/>'
        )
        tick_y = y + _AXIS_SIZE * 0.36
        parts.append(
            _text(_PLOT_LEFT - 6, tick_y, str(tick), size=_AXIS_SIZE, anchor="end", fill=_GREY)
        )
    if not drawn:
        middle = (_PLOT_LEFT + _WIDTH) / 2
        parts.append(
            _text(
                middle, (top + bottom) / 2 + 5, "无排名数据", size=13, anchor="middle", fill=_GREY
            )
        )

    def layer(kind: str) -> list[str]:
        """A <g> per unit of its lines or its dots, ordinary units first so that marked ones
        are drawn over them and never hidden."""
        out = []
        for mark in _MARKS:
            stroke, width, dash, _ = _STYLE[mark]
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            for name, ranks, line_mark in drawn:
                if line_mark != mark:
                    continue
                shapes = []
                for run in _runs(ranks):
                    if kind == "dots":
                        shapes += [
                            f'<circle cx="{x_of(i):.1f}" cy="{y_of(r):.1f}" r="{dot_r:.2f}" '
                            f'fill="{stroke}"/>'
                            for i, r in run
                        ]
                    elif len(run) > 1:
                        points = " ".join(f"{x_of(i):.1f},{y_of(r):.1f}" for i, r in run)
                        shapes.append(
                            f'<polyline points="{points}" fill="none" stroke="{stroke}" '
                            f'stroke-width="{width}" stroke-linejoin="round"{dash_attr}/>'
                        )
                if shapes:
                    out += [
                        f'<g class="{kind} {mark or "ordinary"}" data-name="{escape(name)}">',
                        *shapes,
                        "</g>",
                    ]
        return out

    def label(x0: float, x1: float, wanted: float, index: int, last: int) -> list[str]:
        """A unit's name at its last point; a moved one, or one in the second column, gets a
        thin leader from the point, one inside the plot a pale backing (translucent, and under
        the dots, so no point is hidden)."""
        out = []
        y = placed[index]
        second = x0 - x_of(last) > _LABEL_GAP + 0.5  # dotted: it passes between names
        if abs(y - wanted) > 0.5 or second:
            dots = ' stroke-dasharray="1 1.6"' if second else ""
            out.append(
                f'<line x1="{x_of(last) + dot_r + 1:.1f}" y1="{wanted:.1f}" x2="{x0 - 2:.1f}" '
                f'y2="{y:.1f}" stroke="{_GREY}" stroke-width="0.6"{dots}/>'
            )
        if last < n - 1:
            out.append(
                f'<rect x="{x0 - 1:.1f}" y="{y - _LABEL_H / 2:.1f}" width="{x1 - x0 + 2:.1f}" '
                f'height="{_LABEL_H:.1f}" fill="#ffffff" fill-opacity="0.75"/>'
            )
        colour = _STYLE[drawn[index][2]][3]
        out.append(_text(x0, y + _LABEL_SIZE * 0.36, shown[index], fill=colour))
        return out

    # Lines, then the names of lines that end early (over the lines), then every dot, then the
    # names in the right margin.
    parts += layer("line")
    for lb in sorted(labels, key=lambda lb: lb[3]):
        if lb[4] < n - 1:
            parts += label(*lb)
    parts += layer("dots")
    for lb in sorted(labels, key=lambda lb: lb[3]):
        if lb[4] == n - 1:
            parts += label(*lb)
    parts.append("</svg>")
    return "".join(parts)
