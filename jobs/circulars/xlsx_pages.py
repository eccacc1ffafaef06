"""What the circular's workbook adds for paper and for reading: print setup on every sheet, and
the 评议意见 sheet with the comments exactly as the PDF prints them.

Staff print these sheets for meetings. Without a page setup Excel prints on Letter, cuts wide
sheets into columns that spill onto extra pages and shows the header row only on the first
page. Kept apart from ``jobs.circulars.xlsx`` so that module keeps to its tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from jobs.circulars.comments import pool_comments
from jobs.circulars.context import circular_systems

# Column widths (Excel's character units) that fit across A4 portrait at the default margins
# (21 cm less 2 × 1.78 cm ≈ 17.4 cm ≈ 90 characters of the default font); wider prints landscape.
PORTRAIT_MAX_WIDTH = 90
DEFAULT_WIDTH = 13  # openpyxl's width for a column it was never given one for (8.43 + padding)


def sheet_width(ws: Worksheet) -> float:
    """The sheet's printed width: the sum of its used columns' widths."""
    total = 0.0
    for col in range(1, ws.max_column + 1):
        letter = ws.cell(1, col).column_letter
        dim = ws.column_dimensions.get(letter)
        total += dim.width if dim is not None and dim.width else DEFAULT_WIDTH
    return total


def print_setup(wb: Workbook, title: str | None) -> None:
    """Every sheet on A4, landscape when wider than a portrait page, scaled to one page wide
    (as tall as it needs), its header row repeated on each page, title and page numbers in the
    margins."""
    for ws in wb.worksheets:
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        landscape = sheet_width(ws) > PORTRAIT_MAX_WIDTH
        ws.page_setup.orientation = "landscape" if landscape else "portrait"
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0  # as many pages down as the rows need
        ws.print_title_rows = "1:1"
        ws.print_options.horizontalCentered = True
        ws.oddHeader.center.text = f"{title or ''} {ws.title}".strip()
        ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def comments_sheet(
    wb: Workbook,
    circular: dict[str, Any],
    make_sheet: Callable[[Workbook, str, list[str], list[int]], Worksheet],
) -> None:
    """评议意见: the pooled comments the PDF prints, as it prints them (markup stripped, numbers
    and pool members' names hidden, units below the threshold left out, no author, order by
    frequency then text). The raw comments never reach a cell."""
    units = (circular.get("ranking") or {}).get("units") or []
    threshold = int(circular.get("min_comments") or 3)
    pooled = pool_comments(
        circular.get("comments") or {}, units, circular_systems(circular), threshold
    )
    ws = make_sheet(
        wb,
        "评议意见",
        ["单位代码", "单位名称", "所属系统", "该单位意见条数", "意见", "相同意见条数"],
        [12, 30, 10, 10, 70, 10],
    )
    for unit in pooled:
        for comment in unit["comments"]:
            ws.append(
                [unit["code"], unit["name"], unit["system"], unit["total"], comment["text"],
                 comment["count"]]
            )  # fmt: skip
            ws.cell(ws.max_row, 5).alignment = Alignment(wrap_text=True, vertical="top")
    ws.append([])
    ws.append(
        [
            "说明",
            f"评委意见按单位汇总，不注明提出人；仅列出收到{threshold}条及以上意见的单位；"
            "意见中的电话号码、身份证号码和评委姓名已隐去。",
        ]
    )
