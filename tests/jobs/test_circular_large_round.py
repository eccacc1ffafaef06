"""A province-sized round's circular (docs/scale.md): each system's first and last units, the
rest said to be in the XLSX, no rank-over-months charts; a county round is printed whole."""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

from jobs.circulars.render import LARGE_SHOWN, build_context, render_pdf
from tests.jobs.circular_document import _ranked, make_doc, pdftotext, without_spaces

SYSTEMS = ["法院", "检察院", "公安局", "司法局"]


def _province(n: int = 2000) -> dict:
    doc = make_doc()
    rng = random.Random(1)
    units = []
    for i in range(n):
        score = round(rng.uniform(50, 97), 2)
        units.append({"code": f"U{i:04d}", "name": f"某市{SYSTEMS[i % 4]}第{i}单位",
                      "system": SYSTEMS[i % 4], "score": score, "votes": rng.randint(300, 700),
                      "status": "ranked", "rank_in_system": None, "rank_overall": None,
                      "satisfied_share": 0.6, "dissatisfied_share": 0.1, "mean": score})  # fmt: skip
    for rank, u in enumerate(_ranked(units), start=1):
        u["rank_overall"] = rank
    for s in SYSTEMS:
        for rank, u in enumerate(_ranked([u for u in units if u["system"] == s]), start=1):
            u["rank_in_system"] = rank
    order = _ranked(units)
    doc["ranking"].update(units=units, top=[u["code"] for u in order[:10]],
                          bottom=[u["code"] for u in order[::-1][:5]], vetoed=[])  # fmt: skip
    doc.update(vetoes=[], comments={}, history={"periods": [{"id": "a", "label": "9月"},
               {"id": "b", "label": "10月"}], "ranks": {}})  # fmt: skip
    return doc


def test_a_province_round_prints_each_systems_head_and_tail(tmp_path: Path) -> None:
    doc = _province()
    context = build_context(doc)
    court = context["systems"][0]
    assert court["count"] == 500 and court["omitted"] == 500 - 2 * LARGE_SHOWN
    ranks = [r["rank"] for r in court["rows"]]
    assert ranks[:2] == ["1", "2"] and ranks[LARGE_SHOWN] == "…" and ranks[-1] == "500"
    assert context["history_charts"] == []  # 500 lines to a chart would say nothing
    path = tmp_path / "province.pdf"
    path.write_bytes(render_pdf(doc))
    text = without_spaces(pdftotext(path))
    assert "（一）法院（500个单位）" in text and "其余470个单位见XLSX表格" in text
    assert "某市法院第" in text and text.count("其余470个单位的得分和名次见本通报的XLSX表格") == 4


def test_a_county_round_is_printed_whole() -> None:
    context = build_context(make_doc())
    assert all(s["omitted"] == 0 for s in context["systems"])
    assert sum(len(s["rows"]) for s in context["systems"]) == 98


def test_the_score_chart_keeps_every_dot_in_its_row_at_province_scale() -> None:
    """500 units a system: the dots shrink and stay within their system's row, instead of a
    swarm spilling over the legend and the other systems' labels (seen in a province PDF)."""
    from jobs.circulars import charts

    units = _province()["ranking"]["units"]
    svg = charts.score_distribution_svg(units, SYSTEMS)
    legend = [float(cy) for cy in re.findall(r'<circle cx="[\d.]+" cy="([\d.-]+)"', svg)]
    assert len(legend) == 3 and all(cy < charts._TOP for cy in legend)  # the legend's keys
    paths = re.findall(r'<path class="dots" d="([^"]+)"[^>]* stroke-width="([\d.]+)"', svg)
    layers = [
        (float(width), [(float(x) + float(r), float(y), float(r)) for x, y, r in _arcs(d)])
        for d, width in paths
    ]
    circles = [(cy, r) for _, dots in layers for _, cy, r in dots]
    assert len(circles) == len(units)
    half = charts._ROW_H / 2
    start = 0
    for row, system in enumerate(SYSTEMS):
        n = sum(1 for u in units if u["system"] == system)
        centre = charts._TOP + charts._ROW_H * row + half
        for cy, r in circles[start : start + n]:
            assert abs(cy - centre) + r <= half, (system, cy, r)
            assert 1.2 <= r < charts._DOT_R
        start += n
    # Within one path no two dots touch, so every overlap is still painted twice (darker):
    # a crowded row reads as density, as it did with one <circle> per unit.
    for width, dots in layers:
        for i, (x1, y1, r) in enumerate(dots):
            for x2, y2, _ in dots[i + 1 :]:
                assert math.hypot(x2 - x1, y2 - y1) >= 2 * r + width - 0.02
    assert len(layers) > 2 * len(SYSTEMS)  # the swarms did overlap, and were dealt out
    # A county keeps full-size dots.
    county = charts.score_distribution_svg(units[:100], SYSTEMS)
    assert {r for d, _ in re.findall(r'd="([^"]+)"[^>]* stroke-width="([\d.]+)"', county)
            for _, _, r in _arcs(d)} == {f"{charts._DOT_R:.2f}"}  # fmt: skip


def _arcs(d: str) -> list[tuple[str, str, str]]:
    """(left x, y, radius) of each dot of a dots path: ``M x y a r r 0 1 0 2r 0 a … z``."""
    return re.findall(r"M([\d.]+) ([\d.-]+)a([\d.]+) ", d)
