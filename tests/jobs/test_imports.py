"""Import files as offices really send them: encodings, delimiters, Excel, and refusals that
name the exact row and column, because staff fix the file themselves and retry."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path

import openpyxl
import pytest

from jobs.imports import ImportFileError, MemberRow, UnitRow, parse_pool, parse_units, read_table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"

UNITS_ZH = (
    "单位编码,单位名称,所属系统,类别\n"
    "FY-LAT,县人民法院立案庭,法院,重点股室\n"
    'GA-PCS01,"县公安局城关派出所，户籍室",公安局,\n'
    "SF-GZC,县司法局公证处,司法局,重点股室\n"
)
UNITS_ZH_ROWS = [
    UnitRow("FY-LAT", "县人民法院立案庭", "法院", "重点股室", 2),
    UnitRow("GA-PCS01", "县公安局城关派出所，户籍室", "公安局", None, 3),
    UnitRow("SF-GZC", "县司法局公证处", "司法局", "重点股室", 4),
]


def write(tmp_path: Path, text: str, name: str = "units.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(tmp_path: Path, rows: list[list[object]], name: str = "pool.xlsx") -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def refusal(parse, path: Path) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        parse(path)
    assert caught.value.file == path.name
    assert str(caught.value).startswith(path.name)
    return caught.value


# --- encodings, delimiters, layout ----------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_every_office_encoding_parses_to_the_same_rows(tmp_path: Path, encoding: str) -> None:
    assert parse_units(write(tmp_path, UNITS_ZH, encoding=encoding)) == UNITS_ZH_ROWS


def test_crlf_and_bare_cr_line_ends_parse_alike(tmp_path: Path) -> None:
    crlf = write(tmp_path, UNITS_ZH.replace("\n", "\r\n"), "crlf.csv", "gb18030")
    cr = write(tmp_path, UNITS_ZH.replace("\n", "\r"), "cr.csv")
    assert parse_units(crlf) == parse_units(cr) == UNITS_ZH_ROWS


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = UNITS_ZH.replace(",", delimiter)  # the full-width comma in a name is left alone
    assert parse_units(write(tmp_path, text, "units.txt")) == UNITS_ZH_ROWS


def test_rare_name_characters_outside_gbk_survive_gb18030(tmp_path: Path) -> None:
    text = "id,name,group\nP1,刘䶮,人大代表\nP2,王𠀀,政协委员\n"  # GB18030 4-byte characters
    path = write(tmp_path, text, "pool.csv", "gb18030")
    assert [m.name for m in parse_pool(path)] == ["刘䶮", "王𠀀"]


def test_semicolon_file_may_have_unquoted_commas_in_names(tmp_path: Path) -> None:
    text = "code;name;system\nA1;法院, 立案庭;法院\n"
    assert parse_units(write(tmp_path, text))[0].name == "法院, 立案庭"


def test_quoted_fields_keep_their_commas_and_quotes(tmp_path: Path) -> None:
    text = 'code,name,system\nA1,"法院, 立案庭 ""一窗通办""",法院\n'
    assert parse_units(write(tmp_path, text))[0].name == '法院, 立案庭 "一窗通办"'


def test_full_width_comma_is_not_a_delimiter(tmp_path: Path) -> None:
    text = "id,name,group\nP1,赵明，明达农资店,市场主体代表\n"
    assert parse_pool(write(tmp_path, text, "pool.csv"))[0].name == "赵明，明达农资店"


def test_headers_ignore_case_spaces_and_bom(tmp_path: Path) -> None:
    text = "\ufeff Code ,NAME,\u3000System\u3000\nA1,立案庭,法院\n"
    path = write(tmp_path, text, encoding="utf-8-sig")  # a BOM after the BOM: Excel round trips
    assert parse_units(path) == [UnitRow("A1", "立案庭", "法院", None, 2)]


def test_values_lose_surrounding_ideographic_and_ascii_spaces(tmp_path: Path) -> None:
    text = "code,name,system\n  A1\u3000,\u3000立案庭 ,\t法院\u3000\n"
    assert parse_units(write(tmp_path, text)) == [UnitRow("A1", "立案庭", "法院", None, 2)]


def test_codes_keep_their_case(tmp_path: Path) -> None:
    text = "code,name,system\nfy-lat,立案庭,法院\nFY-LAT,立案庭,法院\n"
    assert [u.code for u in parse_units(write(tmp_path, text))] == ["fy-lat", "FY-LAT"]


def test_blank_rows_are_skipped_and_row_numbers_stay_true(tmp_path: Path) -> None:
    text = "code,name,system\n\nA1,立案庭,法院\n,,\nA2,刑庭,法院\n\n\n,,,\n"
    assert [u.row for u in parse_units(write(tmp_path, text))] == [3, 5]


def test_trailing_empty_cells_from_excel_are_ignored(tmp_path: Path) -> None:
    text = "code,name,system,,\nA1,立案庭,法院,,\nA2,刑庭,法院\n"
    assert len(parse_units(write(tmp_path, text))) == 2


def test_bundled_fixtures_parse() -> None:
    units = parse_units(FIXTURES / "units.csv")
    pool = parse_pool(FIXTURES / "pool.csv")  # GB18030, CRLF, Chinese headers
    assert len(units) == 8 and {u.system for u in units} == {"法院", "检察院", "公安局", "司法局"}
    assert pool[0] == MemberRow(
        "P0001", "王建国", "人大代表", "城关镇", ("FY-LAT", "GA-PCS01"), True, 2
    )
    assert [m.id for m in pool if not m.active] == ["P0004"]
    assert pool[-1].name == "赵明，明达农资店"
    assert {c for m in pool for c in m.conflicts} <= {u.code for u in units}


# --- Excel ----------------------------------------------------------------------------------


def test_xlsx_parses_with_numeric_ids_stored_as_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path,
        [
            ["编号", "姓名", "组别", "乡镇", "回避", "在册"],
            [1001, "王建国", "人大代表", "城关镇", "FY-LAT;GA-PCS01", 1],
            [1002.0, "李秀英", "政协委员", None, None, True],
            ["P1003", "张伟", "乡村干部", "东坪镇", None, "否"],
            [None, None, None, None, None, None],
            [None, None, None, None, None, None],
        ],
    )
    assert parse_pool(path) == [
        MemberRow("1001", "王建国", "人大代表", "城关镇", ("FY-LAT", "GA-PCS01"), True, 2),
        MemberRow("1002", "李秀英", "政协委员", None, (), True, 3),
        MemberRow("P1003", "张伟", "乡村干部", "东坪镇", (), False, 4),
    ]


def test_read_table_renders_excel_cells_as_typed_text(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path,
        [
            [" Code ", "When", "At", "Ratio", "Flag"],
            [12.0, dt.datetime(2026, 10, 1), dt.datetime(2026, 10, 1, 9, 30), 0.5, False],
        ],
    )
    assert read_table(path) == (
        ["code", "when", "at", "ratio", "flag"],
        [(2, {"code": "12", "when": "2026-10-01", "at": "2026-10-01T09:30:00",
              "ratio": "0.5", "flag": "false"})],
    )  # fmt: skip


def test_read_table_pads_short_rows_and_keeps_unknown_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "Seat,评委编号, Note \n1,P1\n\n2,P2,迟到\n", "panel.csv")
    assert read_table(path) == (
        ["seat", "评委编号", "note"],
        [(2, {"seat": "1", "评委编号": "P1", "note": ""}),
         (4, {"seat": "2", "评委编号": "P2", "note": "迟到"})],
    )  # fmt: skip


def test_read_table_refuses_a_column_twice(tmp_path: Path) -> None:
    error = refusal(read_table, write(tmp_path, "id,ID\n1,2\n"))
    assert (error.row, error.column, error.message) == (1, "ID", "column appears twice")


def test_xlsx_reads_the_first_sheet_not_the_active_one(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["code", "name", "system"])
    workbook.active.append(["A1", "立案庭", "法院"])
    other = workbook.create_sheet("说明")
    other.append(["这里是填表说明"])
    workbook.active = 1
    path = tmp_path / "units.xlsx"
    workbook.save(path)
    assert [u.code for u in parse_units(path)] == ["A1"]


def test_xlsx_errors_name_the_sheet_row(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path, [["id", "name", "group"], ["P1", "王", "人大代表"], [None] * 3, ["P2", "", "x"]]
    )
    error = refusal(parse_pool, path)
    assert (error.row, error.column) == (4, "name")


def test_corrupt_xlsx_is_refused_with_the_file_named(tmp_path: Path) -> None:
    path = write(tmp_path, "code,name,system\n", "units.xlsx")
    assert "xlsx" in refusal(parse_units, path).message


# --- pool columns ---------------------------------------------------------------------------


def test_conflicts_split_on_every_separator_trimmed_and_deduplicated(tmp_path: Path) -> None:
    cell = " FY-LAT ; GA-01；SF-1、 JC.2 ,FY-LAT，GA-01;;  ；\u3000X_3 "
    text = f'id,name,group,conflicts\nP1,王,人大代表,"{cell}"\n'
    member = parse_pool(write(tmp_path, text, "pool.csv"))[0]
    assert member.conflicts == ("FY-LAT", "GA-01", "SF-1", "JC.2", "X_3")


def test_conflicts_may_be_on_separate_lines_in_one_excel_cell(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path, [["id", "name", "group", "conflicts"], ["P1", "王", "g", "A\nB"]])
    assert parse_pool(path)[0].conflicts == ("A", "B")


@pytest.mark.parametrize(
    ("value", "active"),
    [("", True), ("1", True), ("TRUE", True), ("Yes", True), ("是", True), ("在册", True),
     ("有效", True), ("0", False), ("False", False), ("NO", False), ("否", False),
     ("停用", False), ("无效", False)],
)  # fmt: skip
def test_active_words(tmp_path: Path, value: str, active: bool) -> None:
    text = f"id,name,group,active\nP1,王,人大代表,{value}\n"
    assert parse_pool(write(tmp_path, text, "pool.csv"))[0].active is active


def test_optional_pool_columns_default(tmp_path: Path) -> None:
    text = "ID,姓名,界别\nP1,王,人大代表\n"
    assert parse_pool(write(tmp_path, text, "pool.csv")) == [
        MemberRow("P1", "王", "人大代表", None, (), True, 2)
    ]


def test_leibie_means_kind_for_units_and_group_for_pool(tmp_path: Path) -> None:
    units = write(tmp_path, "代码,单位,系统,类别\nA1,立案庭,法院,股室\n")
    pool = write(tmp_path, "编号,姓名,类别,乡镇,利益冲突,状态\nP1,王,人大代表,,A1,1\n", "pool.csv")
    assert parse_units(units)[0].kind == "股室"
    assert parse_pool(pool)[0].group == "人大代表"


# --- refusals: the exact row and column -----------------------------------------------------

UNITS_OK = "code,name,system\n" + "".join(f"U{i},单位{i},法院\n" for i in range(2, 6))


@pytest.mark.parametrize(
    ("text", "row", "column", "says"),
    [
        (UNITS_OK + "U6,单位6,法院\nU7,单位7,\n", 7, "system", "empty value"),
        (UNITS_OK + "U6,单位6,法院\nU7,单位7,  \u3000\n", 7, "system", "empty value"),
        (UNITS_OK + "U6,,法院\n", 6, "name", "empty value"),
        (UNITS_OK + ",单位6,法院\n", 6, "code", "empty value"),
        (UNITS_OK + "U6,单位6\n", 6, "system", "empty value"),
        (UNITS_OK + "U3,单位6,法院\n", 6, "code", "duplicate code 'U3' (also on row 3)"),
        (UNITS_OK + "FY LAT,单位6,法院\n", 6, "code", "'FY LAT'"),
        (UNITS_OK + "法院01,单位6,法院\n", 6, "code", "'法院01'"),
        (UNITS_OK + "U6/7,单位6,法院\n", 6, "code", "'U6/7'"),
        (UNITS_OK + "U6," + "长" * 201 + ",法院\n", 6, "name", "201 characters"),
        (UNITS_OK + "U6,单位6," + "系" * 101 + "\n", 6, "system", "at most 100"),
        (UNITS_OK + "U" * 65 + ",单位6,法院\n", 6, "code", "at most 64"),
        (UNITS_OK + "U6,单位,6,法院\n", 6, None, "4 cells but the header has 3 columns"),
        (UNITS_OK + "U6,单位\x076,法院\n", 6, "name", "U+0007"),
        ("code,name\nU1,单位\n", 1, "system", "required column missing"),
        ("code,name,sytem\nU1,单位,法院\n", 1, "sytem", "unknown column (did you mean 'system'?)"),
        ("code,name,system,note\nU1,单位,法院,x\n", 1, "note", "unknown column"),
        ("code,name,system,名称\nU1,单位,法院,x\n", 1, "名称", "column appears twice"),
        ("code,,name,system\nU1,,单位,法院\n", 1, None, "column 2 has no header"),
        ("", None, None, "no rows"),
        ("\ufeff\r\n\r\n", None, None, "no rows"),
        ("code,name,system\r\n", None, None, "no rows"),
        ("code,name,system\n,,\n\n", None, None, "no rows"),
    ],
)
def test_units_file_is_refused_naming_row_and_column(
    tmp_path: Path, text: str, row: int | None, column: str | None, says: str
) -> None:
    error = refusal(parse_units, write(tmp_path, text))
    assert (error.row, error.column) == (row, column)
    assert says in error.message
    if row is not None:
        assert f"row {row}" in str(error)
    if column is not None:
        assert f"column {column}" in str(error)


def test_message_reads_as_documented(tmp_path: Path) -> None:
    error = refusal(parse_units, write(tmp_path, UNITS_OK + "U6,单位6,法院\nU7,单位7,\n"))
    assert str(error) == "units.csv, row 7, column system: empty value"


def test_missing_column_names_its_chinese_aliases(tmp_path: Path) -> None:
    error = refusal(parse_units, write(tmp_path, "编码,名称\nA1,立案庭\n"))
    assert (
        str(error)
        == "units.csv, row 1, column system: required column missing (or: 系统、所属系统)"
    )


def test_errors_name_the_column_as_written_in_the_file(tmp_path: Path) -> None:
    error = refusal(parse_units, write(tmp_path, "编码,名称,所属系统\nA1,立案庭,\n"))
    assert str(error) == "units.csv, row 2, column 所属系统: empty value"


@pytest.mark.parametrize(
    ("text", "row", "column", "says"),
    [
        (
            "id,name,group\nP1,王,g\nP2,李,g\nP1,张,g\n",
            4,
            "id",
            "duplicate id 'P1' (also on row 2)",
        ),
        ("id,name\nP1,王\n", 1, "group", "required column missing"),
        ("id,name,group,tel\nP1,王,g,1\n", 1, "tel", "unknown column"),
        ("编号,姓名,分组\nP1,王,g\nP 2,李,g\n", 3, "编号", "'P 2'"),
        ("id,name,group,active\nP1,王,g,1\nP2,李,g,暂停\n", 3, "active", "'暂停'"),
        ("id,name,group,回避单位\nP1,王,g,A1；立案庭\n", 2, "回避单位", "'立案庭'"),
        ("id,name,group\nP1,王,\n", 2, "group", "empty value"),
    ],
)
def test_pool_file_is_refused_naming_row_and_column(
    tmp_path: Path, text: str, row: int, column: str, says: str
) -> None:
    error = refusal(parse_pool, write(tmp_path, text, "pool.csv"))
    assert (error.row, error.column) == (row, column)
    assert says in error.message


def test_nothing_is_returned_when_only_the_last_row_is_bad(tmp_path: Path) -> None:
    rows = "".join(f"P{i},评委{i},人大代表\n" for i in range(2, 500))
    error = refusal(
        parse_pool, write(tmp_path, f"id,name,group\n{rows}P2,重复,政协委员\n", "p.csv")
    )
    assert error.row == 500


# --- files that are not what they claim ----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (bytes(range(256)) * 8, "UTF-8 or GB18030"),
        ("code,name,system\nA1,立案庭,法院\n".encode("utf-16"), "UTF-16"),
        ("code,name,system\nA1,立案庭,法院\n".encode("utf-16-le"), "UTF-8 or GB18030"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), ".xls"),
        (b"PK\x03\x04" + bytes(64), ".xlsx"),
    ],
)
def test_binary_or_foreign_encodings_are_refused_naming_the_file(
    tmp_path: Path, data: bytes, says: str
) -> None:
    path = tmp_path / "单位名单.csv"
    path.write_bytes(data)
    error = refusal(parse_units, path)
    assert says in error.message
    assert str(error).startswith("单位名单.csv: ")


def test_unsupported_file_type_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "code,name,system\n", "units.xls")
    assert "'.xls'" in refusal(parse_units, path).message


def test_missing_file_is_an_import_error(tmp_path: Path) -> None:
    assert "cannot read" in refusal(parse_units, tmp_path / "nope.csv").message


def test_import_error_survives_pickling() -> None:
    error = ImportFileError("units.csv", "empty value", 7, "system")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.file, copy.row, copy.column, str(copy)) == (
        "units.csv",
        7,
        "system",
        "units.csv, row 7, column system: empty value",
    )
    assert str(ImportFileError("u.csv", "no rows")) == "u.csv: no rows"
