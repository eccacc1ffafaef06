"""How the circulars use their pages (docs/circulars.md, Rank charts; Tables and pages), read back
from the PDF: the rank-over-months charts of a 98-unit county print two to a page with every
unit's name, and a quarter's first page carries text down to its foot instead of ending after the
introduction because its first table cannot start there."""

from __future__ import annotations

import copy
import random
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from jobs.circulars.charts import shorten
from tests.jobs.circular_document import SYSTEM_UNITS, make_doc, without_spaces

CAPTION = "各单位系统内名次变化（"
HEADER = re.compile(r"^\s*(综合名次|名次)\s+单位")
ROW = re.compile(r"^\s*(\d+|—)\s+\S")
# A4 in points; the text block is 225 mm from 37 mm down (templates/circular/circular.css).
MM = 72 / 25.4
BLOCK_TOP, BLOCK_BOTTOM = 37 * MM, 262 * MM
WORD = re.compile(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">')


def _shuffled_ranks(rng: random.Random, doc: dict[str, Any], months: int) -> dict[str, list]:
    """Each unit's rank in its system for ``months`` earlier months (a shuffle per month, a
    few units unranked), then the doc's own rank: the history a circular is handed."""
    ranks: dict[str, list] = {u["code"]: [] for u in doc["ranking"]["units"]}
    for system in SYSTEM_UNITS:
        codes = [u["code"] for u in doc["ranking"]["units"] if u["system"] == system]
        for _ in range(months):
            order = rng.sample(codes, len(codes))
            unranked = set(rng.sample(codes, 2))
            ranked = [c for c in order if c not in unranked]
            for code in codes:
                ranks[code].append(ranked.index(code) + 1 if code in ranked else None)
    for u in doc["ranking"]["units"]:
        ranks[u["code"]].append(u["rank_in_system"] if u["status"] != "insufficient" else None)
    return ranks


def monthly_with_history() -> dict[str, Any]:
    """The 98-unit October round (tests/jobs/circular_document.py) with May to October."""
    doc = make_doc()
    labels = [f"{m}月" for m in range(5, 11)]
    doc["history"] = {
        "periods": [{"id": f"2026-{m:02d}", "label": label} for m, label in zip(range(5, 11), labels, strict=True)],
        "ranks": _shuffled_ranks(random.Random(5), doc, 5),
    }  # fmt: skip
    return doc


def quarterly() -> dict[str, Any]:
    """A fourth quarter of the same 98 units: three months, two leaders, a previous quarter,
    the October veto carried up; Q = 0.7·M + 0.3·L, ranked by Q with the vetoed unit last."""
    rng = random.Random(4)
    months = [make_doc(seed=seed) for seed in (10, 11, 12)]
    for m_u in (m_u for m in months for m_u in m["ranking"]["units"] if m_u["score"] is None):
        m_u["score"] = round(rng.uniform(60, 90), 2)  # 票数不足 units publish a score too
    doc = copy.deepcopy(months[-1])
    units = doc["ranking"]["units"]
    for u in units:
        scores = [m_u["score"] for m in months for m_u in m["ranking"]["units"]
                  if m_u["code"] == u["code"] and m_u["score"] is not None]  # fmt: skip
        mean = sum(scores) / len(scores) if scores else None
        leaders = round(rng.uniform(55, 98), 2)
        u["parts"] = {"rounds": {}, "mean": mean and round(mean, 2), "leaders": leaders}
        u["score"] = mean and round(0.7 * mean + 0.3 * leaders, 2)
        u["status"] = "vetoed" if u["code"] == "GA-14" else ("ranked" if mean else "insufficient")
    order = sorted((u for u in units if u["score"] is not None),
                   key=lambda u: (u["status"] == "vetoed", -u["score"]))  # fmt: skip
    for rank, u in enumerate(order, start=1):
        u["rank_overall"] = rank
    for system in SYSTEM_UNITS:
        for rank, u in enumerate((u for u in order if u["system"] == system), start=1):
            u["rank_in_system"] = rank
    ids = ["2026-10", "2026-11", "2026-12"]
    doc["round"] = {"id": "2026-Q4", "kind": "quarterly", "period": "2026年第四季度"}
    # The demo county's letterhead: with it the introduction leaves too little of page 1 for
    # the first table's heading, header and three rows (about 43 mm), as the office saw.
    doc["issuer"].update(body="中共清河县委政法委员会", doc_number="清政法评汇〔2026〕4号",
                         title="关于2026年第四季度全县政法系统民主评议汇总情况的通报",
                         recipients="县法院、县检察院、县公安局、县司法局，各乡镇政法委员：")  # fmt: skip
    doc["ranking"].update(
        participation={"seats": 2, "ballots": 2, "valid_ballots": 2}, vetoed=["GA-14"],
        top=[u["code"] for u in order if u["status"] != "vetoed"][:10],
        bottom=[u["code"] for u in reversed(order)][:5],
    )  # fmt: skip
    doc["constituents"] = [
        {"id": rid, "period": f"{rid[-2:].lstrip('0')}月",
         "ranks": {u["code"]: {k: u[k] for k in ("score", "status", "rank_in_system")}
                   for u in m["ranking"]["units"]}}
        for rid, m in zip(ids, months, strict=True)
    ]  # fmt: skip
    doc["previous"] = {"id": "2026-Q3", "period": "2026年第三季度", "ranks": {
        code: {"status": "ranked", "rank_in_system": ranks[0]}
        for code, ranks in _shuffled_ranks(rng, doc, 1).items() if ranks[0]}}  # fmt: skip
    ranks = _shuffled_ranks(rng, doc, 2)
    doc["history"] = {"periods": [{"id": rid, "label": f"{rid[-2:]}月"} for rid in ids],
                      "ranks": ranks}  # fmt: skip
    doc["vetoes"] = [{**doc["vetoes"][0], "round": "2026-10"}]
    doc["measures"], doc["comments"] = [], {}
    return doc


def _render(doc: dict[str, Any], path: Path) -> Path:
    from jobs.circulars.render import render_pdf  # WeasyPrint is slow to import

    path.write_bytes(render_pdf(doc))
    return path


@pytest.fixture(scope="module")
def monthly_pages(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return _pages(_render(monthly_with_history(), tmp_path_factory.mktemp("m") / "m.pdf"))


@pytest.fixture(scope="module")
def quarterly_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _render(quarterly(), tmp_path_factory.mktemp("q") / "q.pdf")


def _pages(path: Path) -> list[str]:
    """The text of each page, laid out (pdftotext -layout)."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return text.split("\f")[:-1]


def _rows_under_a_last_header(page: str) -> int | None:
    """How many rows follow a table header that nothing but rows follow to the page's foot:
    a table started at the foot of the page; None when the page does not end so. Rows are
    counted up to the first blank line (a wrapped name is a line of its own, not a row)."""
    lines = page.rstrip().splitlines()
    while lines and re.fullmatch(r"\s*—\s*\d+\s*—\s*", lines[-1]):
        lines.pop()  # the page number
    while lines and not lines[-1].strip():
        lines.pop()
    starts = [i for i, line in enumerate(lines) if HEADER.match(line)]
    if not starts or any(not line.strip() for line in lines[starts[-1] :]):
        return None
    return sum(1 for line in lines[starts[-1] + 1 :] if ROW.match(line))


def _lowest_text(pdf: Path, page: int) -> float:
    """The foot of the lowest word on ``page`` inside the text block (the page number, below
    the block, left out), in points from the top of the page."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    feet = [float(y1) for y0, y1 in WORD.findall(html) if float(y0) < BLOCK_BOTTOM]
    return max(feet)


def test_the_rank_charts_print_two_to_a_page_with_every_name(monthly_pages: list[str]) -> None:
    # 法院 20, 检察院 15, 公安局 33, 司法局 30 units: each chart used to take most of a page.
    per_page = [without_spaces(p).count(CAPTION) for p in monthly_pages]
    assert sum(per_page) == 4
    assert [n for n in per_page if n] == [2, 2], per_page
    # The charts' own text: from the sentence that introduces them to section 三 (the tables
    # before them and the lists after them name the units too).
    text = without_spaces("".join(monthly_pages))
    chart_text = text[text.index("系统内名次变化见图2至图5") : text.index("三、综合排名前")]
    doc = make_doc()
    for u in doc["ranking"]["units"]:
        assert without_spaces(shorten(u["name"], 12).rstrip("…")) in chart_text, u["name"]


def test_no_table_header_ends_a_page_in_either_kind(
    monthly_pages: list[str], quarterly_pdf: Path
) -> None:
    for pages in (monthly_pages, _pages(quarterly_pdf)):
        for number, page in enumerate(pages, start=1):
            rows = _rows_under_a_last_header(page)
            assert rows is None or rows >= 3, f"page {number} ends in a header and {rows} row(s)"


def test_the_quarters_first_page_is_filled_to_its_foot(quarterly_pdf: Path) -> None:
    first = _pages(quarterly_pdf)[0]
    assert "一、各系统季度汇总排名" in first
    blank = (BLOCK_BOTTOM - _lowest_text(quarterly_pdf, 1)) / (BLOCK_BOTTOM - BLOCK_TOP)
    assert blank < 0.06, f"{blank:.0%} of page 1 is blank"  # one line of body text is 4.4%
    # What fills it explains the table's columns from the rules in force (70% and 30%).
    text = without_spaces("".join(_pages(quarterly_pdf)[:2]))
    assert "“季度得分”＝月均分×70%＋领导评分×30%" in text
    assert "“较上期”为与2026年第三季度系统内名次相比" in text
