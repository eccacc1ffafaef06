"""The rank-interval chart (jobs/circulars/interval_chart.py), read back as XML: rows in rank
order, interval ends where the axis says those ranks are, the bottom-list cut between the right
rows, the verdict words, escaping and the CJK font, and no crash on degenerate input."""

from __future__ import annotations

import random
from xml.etree import ElementTree

import pytest

from jobs.circulars.charts import FONT
from jobs.circulars.interval_chart import IntervalRow, rank_interval_svg

NS = {"svg": "http://www.w3.org/2000/svg"}
RED = "#c00000"


def sample_rows() -> list[IntervalRow]:
    """18 units ranked 75..92 plus two vetoed units at 93 and 94; the bottom list is 90..94."""
    rows = []
    for rank in range(75, 93):
        lo, hi = max(70, rank - 3 - rank % 4), min(92, rank + 2 + rank % 3)
        bottom = rank >= 90
        verdict = ("confirmed" if rank == 92 else "tied") if bottom else ""
        rows.append(IntervalRow(f"县单位{rank:02d}号", rank, lo, hi, bottom, verdict))
    rows.append(IntervalRow("县否决单位甲", 93, 93, 93, True, "confirmed", vetoed=True))
    rows.append(IntervalRow("县否决单位乙", 94, 94, 94, True, "confirmed", vetoed=True))
    return rows


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def of_class(root: ElementTree.Element, tag: str, cls: str) -> list[ElementTree.Element]:
    return [e for e in root.iter(f"{{{NS['svg']}}}{tag}") if cls in (e.get("class") or "")]


def axis(root: ElementTree.Element):
    """Rank -> x from the tick labels alone (a least-squares line through them)."""
    ticks = [(int(t.text), float(t.get("x"))) for t in of_class(root, "text", "tick")]
    assert len(ticks) >= 2
    n = len(ticks)
    mr, mx = sum(r for r, _ in ticks) / n, sum(x for _, x in ticks) / n
    slope = sum((r - mr) * (x - mx) for r, x in ticks) / sum((r - mr) ** 2 for r, _ in ticks)
    for r, x in ticks:
        assert x == pytest.approx(mx + slope * (r - mr), abs=0.11)  # the ticks are linear
    return lambda rank: mx + slope * (rank - mr)


def rows_by_y(root: ElementTree.Element) -> list[tuple[str, float]]:
    names = [(t.text or "", float(t.get("y"))) for t in of_class(root, "text", "name")]
    return sorted(names, key=lambda item: item[1])


def test_rows_run_best_to_worst_downwards_whatever_the_input_order() -> None:
    rows = sample_rows()
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    root = parse(rank_interval_svg(shuffled))
    assert [name for name, _ in rows_by_y(root)] == [r.name for r in rows]
    assert root.get("viewBox") and root.get("width") is None and root.get("height") is None


def test_interval_ends_and_dots_sit_where_the_axis_puts_their_ranks() -> None:
    rows = sample_rows()
    root = parse(rank_interval_svg(rows))
    x_of = axis(root)
    lines = of_class(root, "line", "interval")
    marks = of_class(root, "circle", "rank") + of_class(root, "rect", "rank")
    assert len(lines) == len(marks) == len(rows)
    lines.sort(key=lambda e: float(e.get("y1")))
    for row, line in zip(rows, lines, strict=True):
        if row.lo == row.hi:  # a one-rank interval is drawn as a short bar around its rank
            assert float(line.get("x1")) < x_of(row.lo) < float(line.get("x2"))
            continue
        assert float(line.get("x1")) == pytest.approx(x_of(row.lo), abs=0.11)
        assert float(line.get("x2")) == pytest.approx(x_of(row.hi), abs=0.11)
    dots = sorted(of_class(root, "circle", "rank"), key=lambda e: float(e.get("cy")))
    for row, dot in zip(rows, dots, strict=False):
        assert float(dot.get("cx")) == pytest.approx(x_of(row.rank), abs=0.11)


def test_the_cut_falls_between_the_last_unit_outside_and_the_first_inside() -> None:
    root = parse(rank_interval_svg(sample_rows()))
    x_of = axis(root)
    (cut,) = of_class(root, "line", "cut")
    x = float(cut.get("x1"))
    assert cut.get("x1") == cut.get("x2") and cut.get("stroke-dasharray")
    assert x == pytest.approx(x_of(89.5), abs=0.11)
    assert x_of(89) < x < x_of(90)


def test_bottom_rows_are_labelled_and_coloured_and_vetoed_ones_marked() -> None:
    root = parse(rank_interval_svg(sample_rows()))
    verdicts = sorted(of_class(root, "text", "verdict"), key=lambda t: float(t.get("y")))
    assert [t.text for t in verdicts] == ["并列", "并列", "确定", "否决", "否决"]
    assert [t.get("fill") for t in verdicts][2:] == [RED, RED, RED]
    names = dict(rows_by_y(root))
    red = {t.text for t in of_class(root, "text", "name") if t.get("fill") == RED}
    assert red == {n for n in names if n >= "县单位90号" or "否决" in n}
    assert len(of_class(root, "rect", "rank")) == 2  # the vetoed units: squares, not dots
    hollow = [c for c in of_class(root, "circle", "rank") if c.get("fill") == "#ffffff"]
    assert len(hollow) == 2  # the tied units


def test_names_are_escaped_cut_to_twelve_and_whole_in_the_alt_text() -> None:
    long_name = "县公安局<script>alert(1)</script>&派出所第一警务室"
    rows = [IntervalRow(long_name, 90, 85, 92, True, "tied"), *sample_rows()[:3]]
    svg = rank_interval_svg(rows)
    assert "<script>" not in svg
    root = parse(svg)
    shown = [t.text for t in of_class(root, "text", "name")]
    assert long_name[:11] + "…" in shown
    title = root.find("svg:title", NS).text
    assert long_name in title
    for row in sample_rows()[:3]:
        assert f"{row.name}第{row.rank}名，区间第{row.lo}至{row.hi}名" in title
    assert "并列（后五名）" in title


def test_every_text_names_the_cjk_font() -> None:
    root = parse(rank_interval_svg(sample_rows()))
    texts = list(root.iter(f"{{{NS['svg']}}}text"))
    assert texts and all(t.get("font-family") == FONT for t in texts)


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [IntervalRow("甲", 5, 5, 5), IntervalRow("乙", 6, 6, 6, True, "confirmed")],
        [IntervalRow("甲", 5, None, None), IntervalRow("乙", 6, 9, 3, True, "tied")],
        [IntervalRow("无名次", None, None, None), IntervalRow("甲", 1, 1, 1, True, "x")],
        [IntervalRow("只有否决", 3, 3, 3, True, "confirmed", vetoed=True)],
    ],
    ids=["no rows", "zero width", "null and reversed", "no rank", "only bottom"],
)
def test_degenerate_input_draws_without_crashing(rows: list[IntervalRow]) -> None:
    root = parse(rank_interval_svg(rows))
    assert root.find("svg:title", NS) is not None
    drawable = [r for r in rows if r.rank is not None]
    assert len(of_class(root, "text", "name")) == len(drawable)
    with_interval = [r for r in drawable if r.lo is not None]
    assert len(of_class(root, "line", "interval")) == len(with_interval)
    for line in of_class(root, "line", "interval"):
        assert float(line.get("x2")) > float(line.get("x1"))  # never a zero-length line
    if not drawable:
        assert "无可绘制的单位" in ElementTree.tostring(root, encoding="unicode")
