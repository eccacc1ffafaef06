"""The circular's tables and pages (issue #14), read back from the PDF: column widths from the
content (a header never breaks, a long name stays on one line when the 备注 column is empty), a
table header never ends a page with fewer than three rows under it, short tables flow instead of
jumping a page, the first page takes the start of section 二, and top and bottom lists that share
units say so."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from jobs.circulars.change import build_summary_context
from jobs.circulars.render import build_context, render_pdf
from jobs.circulars.tables import Column, header_lines, row_groups, text_em, widths
from tests.jobs.small_round import LONG_NAME, make_small_doc

HEADER = re.compile(r"^\s*(综合名次|名次)\s+单位")
ROW = re.compile(r"^\s*(\d+|—)\s+\S")


@pytest.fixture(scope="module")
def small_pages(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The 12-unit round's PDF, one text per page (pdftotext -layout)."""
    path = tmp_path_factory.mktemp("small") / "small.pdf"
    path.write_bytes(render_pdf(make_small_doc()))
    return _pages(path)


def _pages(path: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return text.split("\f")[:-1]


def _table_starts(page: str) -> list[int]:
    """For each table header on the page: how many rows follow it on this page."""
    lines = page.splitlines()
    counts = []
    for i, line in enumerate(lines):
        if HEADER.match(line):
            rows = 0
            for after in lines[i + 1 :]:
                if not after.strip():
                    break  # the table (or the page's text) ends
                if ROW.match(after):
                    rows += 1
                elif not after.startswith(" " * 12):  # not a wrapped cell
                    break
            counts.append(rows)
    return counts


def test_columns_fit_their_widest_text_and_the_name_takes_the_rest() -> None:
    rows = [{"rank": "1", "name": LONG_NAME, "system": "公安局", "score": "78.37", "note": ""}]
    cols = [Column("综合名次", "rank"), Column("单位", "name"), Column("所属系统", "system"),
            Column("得分", "score"), Column("备注", "note")]  # fmt: skip
    shares = widths(cols, rows, size_pt=11, pad_mm=1.2)
    assert sum(shares) == pytest.approx(100, abs=0.3)
    em = 156 / (11 * 25.4 / 72) / 100  # em per percent of the 156 mm text block
    assert shares[0] * em >= text_em("综合名次")  # the header fits on one line
    assert shares[1] * em >= len(LONG_NAME)  # and so does the longest name
    assert shares[4] < shares[0]  # an empty 备注 is no wider than its header needs
    assert header_lines("领导评分", True) == ["领导", "评分"]
    assert header_lines("综合名次", False) == ["综合名次"]


@pytest.mark.parametrize("n", [0, 1, 2, 5, 6, 33])
def test_rows_come_in_unbreakable_head_and_tail_groups(n: int) -> None:
    rows = [{"rank": str(i)} for i in range(n)]
    groups = row_groups(rows)
    assert [r for g in groups for r in g["rows"]] == rows
    if n <= 5:
        assert [g["keep"] for g in groups] == ([True] if n else [])
    else:
        assert [(len(g["rows"]), g["keep"]) for g in groups] == [(3, True), (n - 5, False),
                                                                 (2, True)]  # fmt: skip


def test_headers_and_long_names_print_on_one_line(small_pages: list[str]) -> None:
    text = "\n".join(small_pages)
    assert "综合名次" in text and not re.search(r"综合名\s*\n", text)
    lines_with_name = [line for line in text.splitlines() if LONG_NAME in line]
    assert len(lines_with_name) >= 2  # its system table and the top list, whole each time


def test_the_first_page_starts_section_two(small_pages: list[str]) -> None:
    assert "二、各系统排名" in small_pages[0]


def test_short_tables_flow_and_no_header_ends_a_page_with_under_three_rows(
    small_pages: list[str], circular_pdf: Path
) -> None:
    # Page 2 of the 12-unit round holds the chart, 法院 and 检察院: a table of three rows that
    # fits is not pushed to the next page.
    assert "（一）法院" in small_pages[1] and "（二）检察院" in small_pages[1]
    for pages in (small_pages, _pages(circular_pdf)):
        for number, page in enumerate(pages, start=1):
            for rows in _table_starts(page):
                assert rows >= 3, f"page {number}: a table header with {rows} row(s) under it"


def test_shared_units_of_the_top_and_bottom_lists_are_named(small_pages: list[str]) -> None:
    doc = make_small_doc()
    shared = [c for c in doc["ranking"]["bottom"] if c in doc["ranking"]["top"]]
    assert len(shared) == 3  # 12 ranked units, top 10, bottom 5
    text = re.sub(r"\s+", "", "".join(small_pages))
    assert "参与排名的单位共12个，少于前十名与后五名之和" in text
    assert "等3个单位同时列入前十名和后五名" in text
    ctx = build_context(doc)
    notes = {r["code"]: r["note"] for r in ctx["top"]}
    assert [notes[c] for c in shared] == ["见后五名"] * 3
    assert {r["note"] for r in ctx["bottom"] if r["code"] in shared} == {"见前十名"}
    assert text.count("见后五名") == 3 and text.count("见前十名") == 3


def test_lists_without_shared_units_say_nothing(circular_doc: dict[str, Any]) -> None:
    assert build_context(circular_doc)["overlap"] == ""


def test_a_summary_says_so_too() -> None:
    doc = make_small_doc()
    doc["round"]["kind"] = "quarterly"
    doc.update(constituents=[], previous=None, measures=[], history=None)
    for u in doc["ranking"]["units"]:
        u["parts"] = {"mean": u["score"], "leaders": None}
    ctx = build_summary_context(doc)
    assert "同时列入前十名和后五名" in ctx["overlap"]
