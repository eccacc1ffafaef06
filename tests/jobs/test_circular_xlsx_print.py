"""The workbook prints (issue #14): every sheet on A4, wide sheets landscape, one page wide, the
header row on every page; and a 评议意见 sheet with the comments as the circular prints them,
never as typed."""

from __future__ import annotations

import copy
from io import BytesIO
from typing import Any

from openpyxl import load_workbook

from jobs.circulars.comments import REDACTED
from jobs.circulars.xlsx import render_xlsx
from tests.jobs.circular_document import ID_NUMBER, LANDLINE, PHONE, TWO_COMMENTS


def _workbook(doc: dict[str, Any]):
    return load_workbook(BytesIO(render_xlsx(doc)))


def test_every_sheet_prints_on_a4_one_page_wide_with_its_header_repeated(
    circular_doc: dict[str, Any],
) -> None:
    wb = _workbook(circular_doc)
    assert len(wb.worksheets) >= 8
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert setup.paperSize == 9, ws.title  # A4 in ECMA-376
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), ws.title
        assert ws.print_title_rows == "$1:$1", ws.title
        assert "&P" in ws.oddFooter.center.text
    orientation = {ws.title: ws.page_setup.orientation for ws in wb.worksheets}
    # 总表 has eleven columns (123 characters wide); 参与情况 two (62).
    assert orientation["总表"] == "landscape" and orientation["法院"] == "landscape"
    assert orientation["参与情况"] == "portrait"


def test_the_comments_sheet_holds_the_redacted_comments_of_the_circular(
    circular_doc: dict[str, Any],
) -> None:
    doc = copy.deepcopy(circular_doc)
    doc["comments"]["GA-15"].append("<b>回复敷衍</b>，民警张建国态度差")
    doc["comments"]["GA-15"] = [
        t.replace("张建国", REDACTED) for t in doc["comments"]["GA-15"]
    ]  # pooled_comments hides pool names before the circular is built
    ws = _workbook(doc)["评议意见"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    texts = [r[4] for r in rows if r and r[0] and r[0] != "说明"]
    cells = " ".join(str(v) for r in rows for v in r if v is not None)
    for secret in (PHONE, LANDLINE, ID_NUMBER, "<b>", "<script>", *TWO_COMMENTS):
        assert secret not in cells
    assert f"联系电话{REDACTED}一直打不通" in texts
    assert f"回复敷衍，民警{REDACTED}态度差" in texts
    assert "出警速度快，值得表扬" in texts
    by_code = {r[0] for r in rows if r and r[0] and r[0] != "说明"}
    assert by_code == {"FY-01", "GA-15", "SF-10"}  # JC-01 has two comments: below the threshold
    assert next(r for r in rows if r[0] == "GA-15")[1:4] == ["县公安局河口派出所", "公安局", 4]
