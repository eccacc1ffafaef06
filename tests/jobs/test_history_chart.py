"""The rank-over-months chart (jobs/circulars/history_chart.py): read back as XML for its
geometry, and once through WeasyPrint and poppler for what a reader of the PDF gets."""

from __future__ import annotations

import random
import re
import subprocess
from itertools import pairwise
from pathlib import Path
from xml.etree import ElementTree

from jobs.circulars.history_chart import RankLine, rank_history_svg

NS = {"svg": "http://www.w3.org/2000/svg"}
RED, INK, LINE_GREY = "#c00000", "#222222", "#bdbdbd"
LABEL_H = 11.0  # the least distance between two labels' centres in a column, as in the module
FIT_HEIGHT = 380.0  # the tallest chart two of which share a page with their captions
MONTHS = ("7月", "8月", "9月", "10月", "11月", "12月")

_PLACES = ["城关", "东关", "西关", "南关", "北关", "石桥", "柳树", "大营", "河口", "新集", "王庄",
           "李村", "马坊", "高岭", "双井", "龙泉"]  # fmt: skip
_OFFICES = {
    "法院": ["立案庭", "刑事审判庭", "民事审判一庭", "民事审判二庭", "行政审判庭", "执行局",
             "审判监督庭", "少年审判庭", "办公室"],
    "检察院": ["第一检察部", "第二检察部", "第三检察部", "第四检察部", "控告申诉检察部",
               "案件管理中心", "办公室", "政治部", "检务保障中心"],
    "公安局": ["治安管理大队", "刑事侦查大队", "交通警察大队", "经济犯罪侦查大队",
               "禁毒大队", "户政服务中心", "出入境管理大队", "指挥中心", "法制大队"],
    "司法局": ["公共法律服务中心", "社区矫正管理局", "人民调解科", "普法与依法治理科",
               "法律援助中心", "行政复议科", "律师公证工作科", "办公室", "政工科"],
}  # fmt: skip
_STATION = {"法院": "人民法庭", "检察院": "检察室", "公安局": "派出所", "司法局": "司法所"}


def realistic_lines(system: str, seed: int = 7) -> list[RankLine]:
    """25 units of one system over six months: scores drifting month to month, a few units
    unranked in some months, the latest month's top three, bottom two and one veto marked."""
    rng = random.Random(f"{system}-{seed}")
    names = [f"县{system}{office}" for office in _OFFICES[system]]
    names += [f"{place}{_STATION[system]}" for place in _PLACES][: 25 - len(names)]
    names[3] = f"县{system}执行指挥与综合保障中心第一分中心"  # longer than 12 characters
    base = {name: rng.uniform(70, 95) for name in names}  # a unit's standing drifts slowly
    ranks: dict[str, list[int | None]] = {name: [] for name in names}
    for month in range(len(MONTHS)):
        scores = {n: base[n] + rng.gauss(0, 1.5) + month * rng.uniform(-0.6, 0.6) for n in names}
        absent = set(rng.sample(names, rng.randint(0, 2)))  # too few votes this month
        ranked = sorted((n for n in names if n not in absent), key=lambda n: -scores[n])
        for name in names:
            ranks[name].append(ranked.index(name) + 1 if name in ranked else None)
    latest = sorted((n for n in names if ranks[n][-1] is not None), key=lambda n: ranks[n][-1])
    marks = dict.fromkeys(latest[:3], "top") | dict.fromkeys(latest[-3:-1], "bottom")
    marks[latest[-1]] = "vetoed"  # a vetoed unit is ranked last in its system
    return [RankLine(n, tuple(ranks[n]), marks.get(n, "")) for n in names]


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def units(root: ElementTree.Element, kind: str = "line") -> list[ElementTree.Element]:
    """Each unit's group of lines (kind "line") or of dots ("dots"), in drawing order."""
    return [g for g in root.findall("svg:g", NS) if g.get("class", "").split()[0] == kind]


def points(polyline: ElementTree.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in polyline.get("points", "").split()]


def labels(root: ElementTree.Element) -> dict[str, list[float]]:
    """Each unit label's text and baseline y (the labels are the <text>s after the lines)."""
    texts = root.findall("svg:text", NS)
    found: dict[str, list[float]] = {}
    for t in texts:
        found.setdefault(t.text or "", []).append(float(t.get("y", "nan")))
    return found


def test_segments_and_dots_follow_the_gaps() -> None:
    lines = [
        RankLine("甲", (1, 2, None, 3, 4, None)),  # two runs: 2 polylines, 4 dots
        RankLine("乙", (None, 3, None, 1, None, 2)),  # three isolated points: dots only
        RankLine("丙", (2, 1, 2, 2, 3, 1)),  # one unbroken line
        RankLine("丁", (None,) * 6),  # never ranked: not drawn
    ]
    root = parse(rank_history_svg("法院", MONTHS, lines))
    lines_of = {g.get("data-name"): g.findall("svg:polyline", NS) for g in units(root)}
    dots_of = {g.get("data-name"): g.findall("svg:circle", NS) for g in units(root, "dots")}
    assert sorted(dots_of) == ["丙", "乙", "甲"]
    shape = {name: (len(lines_of.get(name, [])), len(dots)) for name, dots in dots_of.items()}
    assert shape == {"甲": (2, 4), "乙": (0, 3), "丙": (1, 6)}
    assert [len(points(p)) for p in lines_of["甲"]] == [2, 2]
    # A line that ends early is named where it ends, not in the right margin.
    label_x = {t.text: float(t.get("x")) for t in root.findall("svg:text", NS)}
    last_dot = {name: max(float(c.get("cx")) for c in dots) for name, dots in dots_of.items()}
    gaps = [label_x[name] - last_dot[name] for name in ("甲", "乙")]
    assert gaps[0] > 0 and abs(gaps[0] - gaps[1]) < 0.2
    assert last_dot["甲"] < last_dot["乙"]
    title = root.find("svg:title", NS).text or ""
    assert "丁 未排名" in title and "甲 1→2→—→3→4→—" in title


def test_rank_one_is_at_the_top_and_time_runs_left_to_right() -> None:
    root = parse(rank_history_svg("法院", MONTHS[:4], [RankLine("甲", (5, 1, 3, 2))]))
    (line,) = root.findall(".//svg:polyline", NS)
    xs, ys = zip(*points(line), strict=True)
    assert list(xs) == sorted(xs) and len(set(xs)) == 4
    assert ys[1] < ys[3] < ys[2] < ys[0]  # rank 1 highest on the page (smallest y), rank 5 lowest
    gaps = [b - a for a, b in pairwise(xs)]
    assert max(gaps) - min(gaps) < 0.2  # evenly spaced (to the 0.1 unit the SVG is written in)
    period_labels = [t for t in root.findall("svg:text", NS) if t.text in MONTHS]
    assert [float(t.get("x")) for t in period_labels] == list(xs)


def test_marked_lines_are_drawn_over_grey_ones_in_their_colours() -> None:
    lines = [
        RankLine("否决", (3, 4), "vetoed"),
        RankLine("后列", (2, 3), "bottom"),
        RankLine("一般甲", (1, 2)),
        RankLine("前列", (4, 1), "top"),
        RankLine("一般乙", (5, 5)),
    ]
    root = parse(rank_history_svg("公安局", MONTHS[:2], lines))
    order = [(g.get("data-name"), g.find("svg:polyline", NS).get("stroke")) for g in units(root)]
    names = [name for name, _ in order]
    assert set(names[:2]) == {"一般甲", "一般乙"}  # grey first, whatever the input order
    assert names[2:] == ["前列", "后列", "否决"]
    colours = dict(order)
    assert colours["一般甲"] == colours["一般乙"] == LINE_GREY
    assert colours["前列"] == INK and colours["后列"] == colours["否决"] == RED
    vetoed = units(root)[-1].find("svg:polyline", NS)
    assert vetoed.get("stroke-dasharray")  # told apart from the bottom list
    dots = [(g.get("data-name"), g.find("svg:circle", NS).get("fill")) for g in units(root, "dots")]
    assert dots == order  # the dots in the same order and colours, over every line
    groups = root.findall("svg:g", NS)
    assert groups.index(units(root, "dots")[0]) > groups.index(units(root)[-1])


def test_tied_labels_are_pushed_apart_in_a_stable_order_with_leaders() -> None:
    lines = [RankLine("乙单位", (2, 3)), RankLine("甲单位", (1, 3)), RankLine("丙单位", (4, 4))]
    svg = rank_history_svg("检察院", MONTHS[:2], lines)
    ys = {name: y for name, (y,) in labels(parse(svg)).items() if name.endswith("单位")}
    assert ys["甲单位"] - ys["乙单位"] >= LABEL_H - 1e-6  # the caller's order kept for a tie
    assert ys["丙单位"] - ys["甲单位"] >= LABEL_H - 1e-6  # and the neighbour below moved on
    assert rank_history_svg("检察院", MONTHS[:2], lines) == svg  # the same every time
    leaders = [
        el for el in parse(svg).findall("svg:line", NS) if el.get("stroke-width") == "0.6"
        and float(el.get("x2")) > float(el.get("x1")) and el.get("y1") != el.get("y2")
    ]  # fmt: skip
    assert len(leaders) >= 2  # both tied labels left their point


def test_neighbouring_ranks_keep_their_labels_in_place() -> None:
    lines = [RankLine(f"单位{i}", (i, i)) for i in range(1, 26)]
    root = parse(rank_history_svg("司法局", MONTHS[:2], lines))
    ys = [labels(root)[f"单位{i}"][0] for i in range(1, 26)]
    steps = {round(b - a, 2) for a, b in pairwise(ys)}
    assert len(steps) == 1 and steps.pop() >= LABEL_H  # one rank apart, no label moved


def test_long_names_are_cut_and_kept_whole_in_the_alt_text() -> None:
    long = "县人民法院执行指挥与综合保障中心"  # 16 characters
    root = parse(rank_history_svg("法院", MONTHS[:3], [RankLine(long, (1, 2, 1))]))
    shown = [t.text for t in root.findall("svg:text", NS) if (t.text or "").startswith("县人民")]
    assert shown == [long[:11] + "…"]
    assert long in (root.find("svg:title", NS).text or "")


def test_names_are_escaped_and_every_text_names_the_cjk_font() -> None:
    hostile = "A<b>&\"x'</b>"
    svg = rank_history_svg("法院<&>", MONTHS[:2], [RankLine(hostile, (1, 2), "bottom")])
    root = parse(svg)  # well-formed: the names were escaped
    texts = root.findall(".//svg:text", NS)
    assert texts and all("Noto Sans CJK SC" in t.get("font-family", "") for t in texts)
    assert all(", " not in t.get("font-family", "") for t in texts)  # WeasyPrint 70 splits on ","
    assert hostile in [t.text for t in texts]
    assert units(root)[0].get("data-name") == hostile
    assert "法院<&>系统" in (root.find("svg:title", NS).text or "")
    assert "width" not in root.attrib and root.get("viewBox", "").startswith("0 0 620 ")


def test_degenerate_inputs_draw_what_they_can() -> None:
    empty = parse(rank_history_svg("法院", MONTHS[:3], []))
    assert "无排名数据" in [t.text for t in empty.findall("svg:text", NS)]
    assert units(empty) == []

    one = parse(
        rank_history_svg("法院", ["第三季度"], [RankLine("甲", (2,)), RankLine("乙", (1,))])
    )
    assert one.findall(".//svg:polyline", NS) == [] and len(one.findall(".//svg:circle", NS)) >= 2

    # Ranks beyond rank_count raise it; duplicate names are both drawn; odd lengths are padded.
    beyond = [RankLine("甲", (30, 28)), RankLine("甲", (1, 2)), RankLine("乙", (3,))]
    root = parse(rank_history_svg("法院", MONTHS[:2], beyond, rank_count=25))
    assert [g.get("data-name") for g in units(root, "dots")] == ["甲", "甲", "乙"]
    ticks = [t.text for t in root.findall("svg:text", NS) if (t.text or "").isdigit()]
    assert "30" in ticks
    dot_30 = units(root, "dots")[0].findall("svg:circle", NS)[0]
    height = float(root.get("viewBox").split()[3])
    assert float(dot_30.get("cy")) < height
    assert "乙 3→—" in (root.find("svg:title", NS).text or "")


def test_height_grows_with_the_ranks_and_two_charts_fit_a_page() -> None:
    def height(count: int) -> float:
        lines = [RankLine(f"单位{i}", (i,) * len(MONTHS)) for i in range(1, count + 1)]
        return float(parse(rank_history_svg("法院", MONTHS, lines)).get("viewBox").split()[3])

    heights = {count: height(count) for count in (5, 16, 25, 33, 50, 60, 70)}
    assert list(heights.values()) == sorted(heights.values())
    assert (heights[16] - heights[5]) / 11 == 12  # a small system keeps roomy rows
    assert all(heights[count] <= FIT_HEIGHT for count in (16, 25, 33, 50))  # ≈ 96 mm
    assert heights[60] > FIT_HEIGHT  # beyond about 50 ranks the chart grows, its rows no closer
    assert abs((heights[70] - heights[60]) / 10 - 6.5) < 0.11


def test_close_rows_put_the_names_in_two_columns_each_at_its_rank() -> None:
    """33 ranks in a half page: rows closer than a name is tall, so the names alternate between
    two columns, each name level with its point and two rows from its column's neighbours; the
    second column's names are joined to their points by dotted leaders."""
    lines = [RankLine(f"县公安局第{i}派出所", (i, i)) for i in range(1, 34)]
    root = parse(rank_history_svg("公安局", MONTHS[:2], lines))
    texts = {t.text: t for t in root.findall("svg:text", NS)}
    xs = [float(texts[f"县公安局第{i}派出所"].get("x")) for i in range(1, 34)]
    ys = [float(texts[f"县公安局第{i}派出所"].get("y")) for i in range(1, 34)]
    assert len(set(xs)) == 2 and xs[0::2] == [min(xs)] * 17 and xs[1::2] == [max(xs)] * 16
    row = ys[1] - ys[0]
    assert row < LABEL_H <= 2 * row  # closer than a name, so a column holds every other one
    assert max(abs(b - a - row) for a, b in pairwise(ys)) < 0.11  # none pushed off its rank
    dotted = [el for el in root.findall("svg:line", NS) if el.get("stroke-dasharray") == "1 1.6"]
    assert len(dotted) == 16  # one per name in the second column
    for leader in dotted:
        assert float(leader.get("y1")) == float(leader.get("y2"))  # level: nothing was moved
    assert float(root.get("viewBox").split()[3]) <= FIT_HEIGHT


def test_alt_text_reads_as_a_sentence() -> None:
    lines = [RankLine("县法院立案庭", (3, 2, 1), "top"), RankLine("城关人民法庭", (1, None, 3))]
    title = parse(rank_history_svg("法院", MONTHS[:3], lines)).find("svg:title", NS).text
    assert title == (
        "法院系统各单位近3个月系统内名次：县法院立案庭（前列） 3→2→1；城关人民法庭 1→—→3"
    )
    quarters = parse(rank_history_svg("法院", ["第三季度", "第四季度"], lines[:1]))
    assert "近2个季度" in (quarters.find("svg:title", NS).text or "")


def render_page(svgs: list[str], path: Path) -> Path:
    """The charts on an A4 page with the circular's stylesheet, as the circular would print."""
    from jobs.circulars.render import html_to_pdf  # WeasyPrint is slow to import

    figures = "".join(f'<figure class="chart-figure">{svg}</figure>' for svg in svgs)
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<link rel="stylesheet" href="circular.css"></head><body>{figures}</body></html>'
    )
    path.write_bytes(html_to_pdf(html))
    return path


def test_rendered_pdf_has_the_names_as_text_in_an_embedded_cjk_font(tmp_path: Path) -> None:
    lines = realistic_lines("法院")
    pdf = render_page([rank_history_svg("法院", MONTHS, lines, rank_count=25)], tmp_path / "c.pdf")
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    for line in lines:
        if any(r is not None for r in line.ranks):
            shown = line.name if len(line.name) <= 12 else line.name[:11]
            assert shown in flat, shown
    assert all(month in flat for month in MONTHS)
    assert "前列单位" in flat and "法院系统各单位名次" in flat
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    cjk = [line for line in fonts if "NotoSansCJK" in re.sub(r"[- ]", "", line)]
    assert cjk and all(line.split()[-5] == "yes" for line in cjk)
