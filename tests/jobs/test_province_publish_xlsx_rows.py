"""The 票数分布 sheet wraps the histogram cell of each unit's row (and only those), counting its
rows itself rather than asking openpyxl's ``max_row`` per row (jobs/circulars/xlsx_evidence.py)."""

from __future__ import annotations

from openpyxl import Workbook

from jobs.circulars.xlsx import _sheet
from jobs.circulars.xlsx_evidence import evidence_sheet


def test_each_data_row_wrapped() -> None:
    units = [{"code": f"U{i}", "name": f"单位{i}", "system": "甲"} for i in range(3)]
    evidence = {
        "units": {
            "U0": {"histogram": {"100": 2, "70": 1}, "labels": {"满意": 2}},
            "U1": {"histograms": {"A组": {"100": 1}, "B组": {"70": 4}}, "labels": {}},
            "U2": {"histogram": {}, "labels": {}},
        }
    }
    circular = {"evidence": evidence, "ranking": {"units": units},
                "rules": {"scale": {"满意": 100, "不满意": 0}}}  # fmt: skip
    wb = Workbook()
    evidence_sheet(wb, circular, _sheet)
    ws = wb["票数分布"]
    codes = [ws.cell(r, 1).value for r in range(2, 6)]
    assert codes == ["U0", "U1", "U1", "U2"]
    assert [bool(ws.cell(r, 6).alignment.wrap_text) for r in range(1, ws.max_row + 1)] == [
        False, True, True, True, True, False, False
    ]  # fmt: skip
