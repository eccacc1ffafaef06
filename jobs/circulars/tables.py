"""The circular's unit tables, sized from their content and grouped for page breaks.

Fixed percentages gave "综合名次" a column too narrow for its four characters (it broke as
综合名/次) and wrapped a long unit name while an empty 备注 column kept its 15%. Here each column
gets the width its widest text needs (header or cell, estimated from the characters: CJK a full
em, Latin and digits about half), the unit name takes what is left, and only if even that is too
little does the name wrap. WeasyPrint lays the table out with ``table-layout: fixed`` and these
widths, so what is computed is what is printed.

Rows come in groups: the first three and the last two each in a ``tbody`` that must not break,
so a table never starts a page with its header and one row, nor ends one row alone; the rows
between flow. A table of five rows or fewer is one group and moves as a whole. (WeasyPrint 70
moved a whole table to the next page when rows carried ``break-after: avoid``; groups do not.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The text block is 156 mm wide (GB/T 9704). In em of each table's face: 11 pt ranking tables,
# 9.5 pt summary tables; cell padding (1.5 mm or 0.8 mm a side) and the rule, in the same em.
TEXT_WIDTH_MM = 156
PT_MM = 25.4 / 72
HEAD_ROWS, TAIL_ROWS = 3, 2


@dataclass(frozen=True)
class Column:
    """One column: its header, the row key it shows, and the class its cells get."""

    header: str
    key: str
    cls: str = ""
    split: bool = False  # the header may be set in two lines (``header_lines``)
    wrap: bool = False  # the cells too (a note in a crowded summary table: 一票/否决)


# Widths in em of the Latin characters tables hold (Noto Sans CJK's proportional Latin); CJK,
# full-width characters and arrows are one em.
_NARROW = {".": 0.27, ",": 0.27, ":": 0.27, "(": 0.33, ")": 0.33, " ": 0.25, "%": 0.84, "-": 0.34}


def text_em(text: Any) -> float:
    """The width of ``text`` in em, from the characters (a slight overestimate, never under)."""
    return sum(
        1.0 if ord(ch) >= 0x2E80 else 0.6 if ord(ch) >= 0x2000 else _NARROW.get(ch, 0.57)
        for ch in str(text)
    )


def header_lines(header: str, split: bool) -> list[str]:
    """A header as printed: a long one in a summary table is set in two balanced lines on
    purpose (领导/评分), never broken by the layout mid-word (综合名/次)."""
    if not split or len(header) < 4:
        return [header]
    half = (len(header) + 1) // 2
    return [header[:half], header[half:]]


def widths(
    columns: list[Column], rows: list[dict[str, Any]], size_pt: float, pad_mm: float
) -> list[float]:
    """Each column's share of the table (percent, one decimal) from its widest text; the
    ``name`` column absorbs what is left over or short."""
    total = TEXT_WIDTH_MM / (size_pt * PT_MM)
    pad = (2 * pad_mm + 0.5) / (size_pt * PT_MM)
    need = []
    for col in columns:
        head = max(text_em(line) for line in header_lines(col.header, col.split))
        cells = [str(r.get(col.key, "")) for r in rows]
        if col.wrap:
            cells = [line for cell in cells for line in header_lines(cell, True)]
        widest = max([head, *(text_em(cell) for cell in cells)])
        need.append(widest + pad)
    names = [i for i, c in enumerate(columns) if c.key == "name"]
    rest = sum(n for i, n in enumerate(need) if i not in names)
    if names and rest < total:
        # Numbers and notes get what they need; the name column everything else (wrapping only
        # when the longest name does not fit even then).
        need[names[0]] = total - rest
    scale = 100 / sum(need)
    return [round(n * scale, 1) for n in need]


def row_groups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows in page-break groups (module docstring): ``keep`` groups must not be split."""
    if len(rows) <= HEAD_ROWS + TAIL_ROWS:
        return [{"rows": rows, "keep": True}] if rows else []
    return [
        {"rows": rows[:HEAD_ROWS], "keep": True},
        {"rows": rows[HEAD_ROWS:-TAIL_ROWS], "keep": False},
        {"rows": rows[-TAIL_ROWS:], "keep": True},
    ]


def table(
    columns: list[Column],
    rows: list[dict[str, Any]],
    *,
    size_pt: float = 11,
    pad_mm: float = 1.2,
) -> dict[str, Any]:
    """What ``_table.html`` draws: columns with their widths, and the row groups."""
    shares = widths(columns, rows, size_pt, pad_mm)
    return {
        "cols": [
            {"lines": header_lines(c.header, c.split), "key": c.key, "cls": c.cls, "width": w}
            for c, w in zip(columns, shares, strict=True)
        ],
        "groups": row_groups(rows),
    }


def system_table(rows: list[dict[str, Any]], satisfied_label: str) -> dict[str, Any]:
    """A monthly system table: 名次, 单位, 得分, 有效票数, 满意率, 备注."""
    return table(
        [
            Column("名次", "rank"),
            Column("单位", "name", "name"),
            Column("得分", "score", "num"),
            Column("有效票数", "votes", "num"),
            Column(f"{satisfied_label}率", "satisfied", "num"),
            Column("备注", "note", "note-cell"),
        ],
        rows,
    )


def list_table(rows: list[dict[str, Any]], votes: bool = True) -> dict[str, Any]:
    """A top or bottom list: 综合名次, 单位, 所属系统, 得分 (有效票数), 备注."""
    columns = [
        Column("综合名次", "rank"),
        Column("单位", "name", "name"),
        Column("所属系统", "system"),
        Column("得分", "score", "num"),
    ]
    if votes:
        columns.append(Column("有效票数", "votes", "num"))
    columns.append(Column("备注", "note", "note-cell"))
    return table(columns, rows)


def summary_table(
    rows: list[dict[str, Any]], periods: list[str], heads: tuple[str, str], previous: bool
) -> dict[str, Any]:
    """A quarter's or half year's system table: 名次, 单位, each constituent's score (rank), the
    months' mean, the leaders' score, the summary score, movement, 备注. ``heads``: the mean's
    and the score's headers (季度均分 and 季度得分, or their half-year names)."""
    flat = [row | {f"part_{i}": cell for i, cell in enumerate(row["parts"])} for row in rows]
    columns = [
        Column("名次", "rank"),
        Column("单位", "name", "name"),
        *(Column(p, f"part_{i}", "num") for i, p in enumerate(periods)),
        Column(heads[0], "mean", "num", split=True),
        Column("领导评分", "leaders", "num", split=True),
        Column(heads[1], "score", "num strong", split=True),
    ]
    if previous:
        columns.append(Column("较上期", "move", "move"))
    columns.append(Column("备注", "note", "note-cell", wrap=True))
    return table(columns, flat, size_pt=9.5, pad_mm=0.8)
