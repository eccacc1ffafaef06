"""Reading the units and pool import files (`pingyi import units|pool FILE`, docs/service.md).

Offices hand over whatever their spreadsheet exported: UTF-8 with or without a BOM, GB18030
(GBK), Excel workbooks; commas, tabs or semicolons. Every file is read whole and refused whole on
the first problem, naming the file, row and column as a spreadsheet user sees them (header =
row 1), because a half-imported pool would silently change who can be drawn. Nothing here touches
the database: the store writes what these functions return.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
# Order breaks ties when sniffing: comma is what most exports use.
DELIMITERS = (",", "\t", ";")
# Column widths of service/models.py (PostgreSQL refuses longer text, SQLite would keep it):
# past these a value is a misaligned paste, not a name.
MAX_LENGTH = {"code": 64, "id": 64, "system": 100, "group": 100, "kind": 100}
MAX_TEXT = 200  # name, township
# Codes and ids travel in URLs, survey mappings and ballots, so they stay plain ASCII.
CODE_PATTERN = re.compile(r"[A-Za-z0-9_.-]+", re.ASCII)
# Conflict cells list unit codes; codes cannot contain any of these, so all are safe separators.
CONFLICT_SEPARATORS = re.compile(r"[;；、,，\s]+")
# str.strip() already covers U+3000 and NBSP; BOM and zero-width space are not "whitespace".
STRIP_CHARS = "\ufeff\u200b"
TRUE_WORDS = frozenset({"", "1", "true", "yes", "是", "在册", "有效"})
FALSE_WORDS = frozenset({"0", "false", "no", "否", "停用", "无效"})


class ImportFileError(ValueError):
    """An import file refused whole; says where, so staff can fix the file and retry."""

    def __init__(
        self, file: str, message: str, row: int | None = None, column: str | None = None
    ) -> None:
        # Passing every field to ValueError keeps the exception picklable (RQ, multiprocessing).
        super().__init__(file, message, row, column)
        self.file = file
        self.message = message
        self.row = row
        self.column = column

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return f"{', '.join(parts)}: {self.message}"


@dataclass(frozen=True)
class UnitRow:
    """One evaluated unit as written in the file; ``row`` points back to it for later errors."""

    code: str
    name: str
    system: str
    kind: str | None
    row: int
    active: bool = True


@dataclass(frozen=True)
class MemberRow:
    """One pool member as written in the file; conflicts are unit codes, not yet checked."""

    id: str
    name: str
    group: str
    township: str | None
    conflicts: tuple[str, ...]
    active: bool
    row: int


@dataclass(frozen=True)
class _Table:
    """A file's header as written (stripped) and its non-empty rows of stripped cells."""

    file: str
    header: list[str]
    rows: list[tuple[int, list[str]]]


def _clean(value: str) -> str:
    return value.strip().strip(STRIP_CHARS).strip()


def _normalise(name: str) -> str:
    return _clean(name).casefold()


# What files misnamed .csv usually are, so the refusal can say how to fix them.
KNOWN_MAGIC = (
    ((b"\xff\xfe", b"\xfe\xff"), "file is UTF-16 (Excel 'Unicode text'); save as CSV UTF-8"),
    ((b"PK\x03\x04",), "file is an Excel workbook; give it an .xlsx name"),
    ((b"\xd0\xcf\x11\xe0",), "file is an old Excel .xls workbook; save as .xlsx or CSV"),
)


def _decode(path: Path, data: bytes) -> str:
    """Decode as UTF-8 (BOM or not), else GB18030; refuse what is neither, saying what it is."""
    for magic, message in KNOWN_MAGIC:
        if data.startswith(magic):
            raise ImportFileError(path.name, message)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:  # NULs decode "fine" but mean binary or BOM-less UTF-16
            return text
    raise ImportFileError(path.name, "not a text file in UTF-8 or GB18030 (GBK); save as CSV UTF-8")


def _sniff(text: str) -> str:
    """Pick the delimiter that splits the header line into the most cells."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    counts = [len(next(csv.reader([line], delimiter=d), [])) for d in DELIMITERS]
    return DELIMITERS[counts.index(max(counts))]


def _text_rows(path: Path) -> list[list[str]]:
    text = _decode(path, path.read_bytes())
    # newline="" lets csv see CRLF, bare CR and newlines inside quoted cells itself.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff(text))
    records: list[list[str]] = []
    try:
        records.extend(reader)
    except csv.Error as exc:  # e.g. a cell over csv's field size limit
        raise ImportFileError(path.name, f"malformed CSV: {exc}", len(records) + 1) from exc
    return records


def _cell_text(value: object) -> str:
    """Render an Excel cell as the text its user typed (12.0 -> "12", dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Excel stores every number as a double; ids typed as 12 come back as 12.0.
        return str(int(value)) if value.is_integer() else f"{value:.15g}"
    if isinstance(value, dt.datetime) and value.time() == dt.time(0) and value.tzinfo is None:
        value = value.date()  # Excel has no date type: a typed date is a midnight datetime
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _workbook_rows(path: Path) -> list[list[str]]:
    import openpyxl  # only workbook imports pay for loading it

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises a zoo of types (zip, XML, KeyError) on bad files
        raise ImportFileError(path.name, f"not a readable .xlsx workbook ({exc})") from exc
    try:
        sheet = workbook.worksheets[0]
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


# An import is reference data typed by staff: a county has ~100 units and a few hundred pool
# members, a province some thousands. Files far beyond that are a wrong file or an attack, and
# are refused before they cost memory (a 50 MB file of unit rows once made 382,692 units).
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000


def _load(path: Path) -> _Table:
    """Read any supported file into a table; checks only what every import shares."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImportFileError(path.name, f"cannot read file ({exc.strerror or exc})") from exc
    if size > MAX_IMPORT_BYTES:
        raise ImportFileError(
            path.name,
            f"{size / 2**20:.1f} MB is over the {MAX_IMPORT_BYTES // 2**20} MB an import file may "
            "have (is it the right file?)",
        )
    try:
        if suffix in TEXT_SUFFIXES:
            records = _text_rows(path)
        elif suffix in WORKBOOK_SUFFIXES:
            records = _workbook_rows(path)
        else:
            raise ImportFileError(path.name, f"unsupported file type '{suffix}'; use CSV or .xlsx")
    except OSError as exc:
        raise ImportFileError(path.name, f"cannot read file ({exc.strerror or exc})") from exc
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, record in enumerate(records, start=1):
        cells = [_clean(cell) for cell in record]
        # Trailing empty cells are Excel's doing (formatting, trailing commas), not data.
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        if header is None:
            header = cells
            if "" in header:
                position = header.index("") + 1
                raise ImportFileError(path.name, f"column {position} has no header", number)
            continue
        if len(cells) > len(header):
            raise ImportFileError(
                path.name,
                f"{len(cells)} cells but the header has {len(header)} columns"
                " (is a comma inside a value unquoted?)",
                number,
            )
        rows.append((number, cells))
        if len(rows) > MAX_IMPORT_ROWS:
            raise ImportFileError(
                path.name, f"more than {MAX_IMPORT_ROWS:,} rows (is it the right file?)", number
            )
    if header is None or not rows:
        raise ImportFileError(path.name, "no rows")
    return _Table(path.name, header, rows)


def read_table(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Read a CSV/TSV/XLSX file: normalised header names and (row number, values) pairs."""
    table = _load(path)
    names = [_normalise(name) for name in table.header]
    _refuse_duplicate_columns(table, names)
    rows = [
        (number, {name: cells[i] if i < len(cells) else "" for i, name in enumerate(names)})
        for number, cells in table.rows
    ]
    return names, rows


def _refuse_duplicate_columns(table: _Table, keys: list[str]) -> None:
    seen: set[str] = set()
    for key, written in zip(keys, table.header, strict=True):
        if key in seen:
            raise ImportFileError(table.file, "column appears twice", 1, written)
        seen.add(key)


Bound = dict[str, tuple[int, str]]


def _bind(table: _Table, columns: dict[str, tuple[str, ...]], required: set[str]) -> Bound:
    """Map canonical column -> (index, name as written); refuse unknown and missing columns."""
    aliases = {_normalise(a): canonical for canonical, names in columns.items() for a in names}
    keys = []
    for written in table.header:
        canonical = aliases.get(_normalise(written))
        if canonical is None:
            close = difflib.get_close_matches(_normalise(written), list(aliases), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"expected {', '.join(columns)}"
            raise ImportFileError(table.file, f"unknown column ({hint})", 1, written)
        keys.append(canonical)
    _refuse_duplicate_columns(table, keys)
    bound = {
        key: (i, written) for i, (key, written) in enumerate(zip(keys, table.header, strict=True))
    }
    for name, names in columns.items():
        if name in required and name not in bound:
            also = "、".join(names[1:])
            raise ImportFileError(table.file, f"required column missing (or: {also})", 1, name)
    return bound


class _Row:
    """Typed access to one row's cells, raising errors that point at the exact cell."""

    def __init__(self, table: _Table, bound: Bound, number: int, cells: list[str]) -> None:
        self.table, self.bound, self.number, self.cells = table, bound, number, cells

    def fail(self, column: str, message: str) -> ImportFileError:
        written = self.bound[column][1] if column in self.bound else column
        return ImportFileError(self.table.file, message, self.number, written)

    def cell(self, column: str) -> str:
        """The raw stripped cell; "" for an absent optional column or a short row."""
        index = self.bound[column][0] if column in self.bound else len(self.cells)
        return self.cells[index] if index < len(self.cells) else ""

    def text(self, column: str, *, required: bool = True) -> str:
        value = self.cell(column)
        if required and not value:
            raise self.fail(column, "empty value")
        limit = MAX_LENGTH.get(column, MAX_TEXT)
        if len(value) > limit:
            raise self.fail(column, f"value is {len(value)} characters; at most {limit}")
        bad = next((c for c in value if unicodedata.category(c) == "Cc"), None)
        if bad is not None:
            raise self.fail(column, f"control character U+{ord(bad):04X} in value")
        return value

    def optional(self, column: str) -> str | None:
        return self.text(column, required=False) or None

    def code(self, column: str, value: str | None = None) -> str:
        value = self.text(column) if value is None else value
        if not CODE_PATTERN.fullmatch(value):
            raise self.fail(
                column, f"invalid code '{value}' (only letters A-Z a-z, digits and _ . -)"
            )
        return value


def _rows(
    path: Path, columns: dict[str, tuple[str, ...]], required: set[str]
) -> Iterator[tuple[_Row, str]]:
    """Yield each row with its key (the first column: code or id), checked and unique."""
    table = _load(path)
    bound = _bind(table, columns, required)
    key = next(iter(columns))
    seen: dict[str, int] = {}
    for number, cells in table.rows:
        row = _Row(table, bound, number, cells)
        value = row.code(key)
        if value in seen:
            raise row.fail(key, f"duplicate {key} '{value}' (also on row {seen[value]})")
        seen[value] = number
        yield row, value


UNIT_COLUMNS = {
    "code": ("code", "编码", "代码", "单位编码"),
    "name": ("name", "名称", "单位名称", "单位"),
    "system": ("system", "系统", "所属系统"),
    "kind": ("kind", "类型", "类别"),
    "active": ("active", "状态", "在册"),
}
POOL_COLUMNS = {
    "id": ("id", "编号", "评委编号"),
    "name": ("name", "姓名"),
    "group": ("group", "分组", "组别", "界别", "类别"),
    "township": ("township", "乡镇", "乡镇街道"),
    "conflicts": ("conflicts", "回避", "回避单位", "利益冲突"),
    "active": ("active", "状态", "在册"),
}


def parse_units(path: Path) -> list[UnitRow]:
    """Parse a units file (code,name,system[,kind][,active]); all rows or ImportFileError.

    ``active`` 0/否/停用 retires a unit: rounds created later leave it out, rounds already
    created keep it (they keep their own copy of their units)."""
    return [
        UnitRow(
            code,
            row.text("name"),
            row.text("system"),
            row.optional("kind"),
            row.number,
            _active(row),
        )
        for row, code in _rows(path, UNIT_COLUMNS, {"code", "name", "system"})
    ]


def _active(row: _Row) -> bool:
    value = row.text("active", required=False)
    word = value.casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise row.fail("active", f"'{value}' is neither active (1/是/在册) nor inactive (0/否/停用)")


def _conflicts(row: _Row) -> tuple[str, ...]:
    # Read raw, not via text(): a long list of codes is fine, and Alt+Enter breaks separate them.
    parts = CONFLICT_SEPARATORS.split(row.cell("conflicts"))
    codes = [row.code("conflicts", code) for code in parts if code]
    return tuple(dict.fromkeys(codes))


def parse_pool(path: Path) -> list[MemberRow]:
    """Parse a pool file (id,name,group[,township][,conflicts][,active]); all rows or an error."""
    members = []
    for row, member_id in _rows(path, POOL_COLUMNS, {"id", "name", "group"}):
        name, group, township = row.text("name"), row.text("group"), row.optional("township")
        conflicts, active = _conflicts(row), _active(row)
        members.append(MemberRow(member_id, name, group, township, conflicts, active, row.number))
    return members
