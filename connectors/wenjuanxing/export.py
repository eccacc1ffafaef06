"""问卷星's export (下载答卷数据) read for reconciliation: XLSX, XLS or CSV, either kind of export.

The leading columns are ``序号`` (the answer's sequence number in the survey: the ballot id, as
for pushes), ``提交答卷时间`` (Beijing time), ``所用时间``, ``来源``, ``来源详情`` (the
``sojumpparm`` token) and ``来自IP``. A question is a column ``N、题干``; a matrix row, or in the
按选项序号 export one option of a multi-choice question, is a column ``第N题(行标题)``. Cells hold
option texts (按选项文本) or positions (按选项序号); both are read, each through the source's
mapping, so the export of an answer that was pushed is the same ballot, not a second one.

The file's kind is told by its first bytes, not its name: an XLSX is a zip, an XLS an OLE2
compound file, anything else text (UTF-8 with or without BOM, else GB18030; comma or tab
separated).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.base import ConnectorError, SourceSettings
from connectors.canonical import RawRecord
from connectors.wenjuanxing.push import stored_map
from connectors.wenjuanxing.records import Cell, answer_record, link_token, record_text, sequence_id
from connectors.wenjuanxing.survey import SurveyMap

ID, TIME, TOKEN = "序号", "提交答卷时间", "来源详情"
_STEM = re.compile(r"^(\d+)\s*[、.．]\s*(.*)$", re.S)
_ROW = re.compile(r"^第(\d+)题\s*\((.*)\)$", re.S)


def read_export(path: Path, settings: SourceSettings | None) -> list[RawRecord]:
    """The export's answers as records, through the source's mapping (``ingest --source``)."""
    if settings is None:
        raise ConnectorError(
            f"{path.name}: a 问卷星 export is read through its source's mapping "
            "(rows and options are the survey's, not pingyi's): give --source NAME"
        )
    survey = stored_map(settings)
    table = iter(read_table(path))
    header = next(table, None)
    if header is None:
        raise ConnectorError(f"{path.name}: empty file")
    names = [_header(h) for h in header]
    missing = [n for n in (ID, TIME, TOKEN) if n not in names]
    if missing:
        shown = ", ".join(n for n in names[:8] if n)
        raise ConnectorError(
            f"{path.name}: not a 问卷星 export with tokens: no {' or '.join(missing)} column "
            f"(found: {shown}); export with the 来源详情 column, which holds the sojumpparm"
        )
    columns = [_column(name, survey) for name in names]
    at = {name: i for i, name in reversed(list(enumerate(names)))}
    records = []
    for line, row in enumerate(table, start=2):
        if all(_blank(v) for v in row):
            continue
        row = list(row) + [None] * (len(names) - len(row))
        cells = [
            Cell(q, key, title, name, row[i])
            for i, (q, key, title, name) in enumerate(columns)
            if q is not None
        ]
        where = f"{path.name}, row {line}"
        text = record_text({n: row[i] for n, i in at.items() if not _blank(row[i])})
        records.append(
            answer_record(
                where,
                text,
                sequence_id(row[at[ID]]),
                link_token(row[at[TOKEN]]),
                row[at[TIME]],
                cells,
                survey,
            )
        )
    return records


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header(value: Any) -> str:
    return unicodedata.normalize("NFKC", "" if value is None else str(value)).strip()


def _column(name: str, survey: SurveyMap) -> tuple[str | None, str | None, str | None, str]:
    """(question, push key, title, name) of a column; question None for the leading columns."""
    if (match := _ROW.match(name)) is not None:
        question, title = f"q{match.group(1)}", match.group(2).strip()
        return question, survey.row_key(question, title), title, name
    if (match := _STEM.match(name)) is not None:
        question = f"q{match.group(1)}"
        return question, question, match.group(2).strip(), name
    return None, None, None, name


def read_table(path: Path) -> Iterator[list[Any]]:
    """The first sheet (or the text) as rows of cell values."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConnectorError(f"{path}: {exc.strerror or exc}") from None
    if data.startswith(b"PK\x03\x04"):
        return _xlsx(path, data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return _xls(path, data)
    return _text_table(path, data)


def _xlsx(path: Path, data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged zip
        raise ConnectorError(f"{path.name}: not a readable XLSX ({type(exc).__name__})") from None
    try:
        rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    return iter(rows)


def _xls(path: Path, data: bytes) -> Iterator[list[Any]]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
        sheet = book.sheet_by_index(0)
    except Exception as exc:  # xlrd.XLRDError and struct errors for a damaged file
        raise ConnectorError(f"{path.name}: not a readable XLS ({exc})") from None
    rows = []
    for r in range(sheet.nrows):
        row = []
        for cell in sheet.row(r):
            if cell.ctype == xlrd.XL_CELL_DATE:
                row.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
            elif cell.ctype == xlrd.XL_CELL_EMPTY:
                row.append(None)
            else:
                row.append(cell.value)
        rows.append(row)
    return iter(rows)


def _text_table(path: Path, data: bytes) -> Iterator[list[Any]]:
    """CSV or TSV: UTF-8 (a BOM is fine), else GB18030, which 问卷星's Chinese-locale downloads
    use; a file that is neither is refused, naming the byte."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise ConnectorError(
                f"{path.name}: neither UTF-8 nor GB18030 text (byte {exc.start}); "
                "export as XLSX, XLS or CSV"
            ) from None
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    return iter(list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)))
