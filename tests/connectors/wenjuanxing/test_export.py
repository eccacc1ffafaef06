"""The export read for reconciliation: XLS, XLSX and CSV (UTF-8 with or without BOM, GB18030,
comma or tab), 按选项文本 and 按选项序号, through the source's mapping; and the recorded 2018
exports, whose blanked token and time columns are named, not guessed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.base import ConnectorError, SetupContext, SourceSettings
from connectors.titles import parse_title_map
from connectors.wenjuanxing.export import read_export
from connectors.wenjuanxing.survey import build_map, parse_structure
from tests.connectors.wenjuanxing.wjx import (
    ACTIVITY,
    FIXTURES,
    LABELS,
    MAP,
    export_rows,
    structure,
    write_csv,
    write_xlsx,
)

CONTEXT = SetupContext(
    units=["U01", "U02", "U03", "U04", "U05"],
    labels=LABELS,
    criteria=[],
    names={"U01": "财政局", "U02": "卫健局", "U03": "税务局", "U04": "统计局", "U05": "城管局"},
)
ANSWERS = [
    (3, "SeatTokenA", [1, 2, 3, 4, 1], "2026/11/20 10:00:00"),
    (4, "SeatTokenB", [2, 2, 0, 1, 3], "2026-11-21 08:05:09"),
]
EXPECTED = {
    "3": ("SeatTokenA", "2026-11-20T10:00:00+08:00",
          {"U01": "满意", "U02": "基本满意", "U03": "不满意", "U04": "不了解", "U05": "满意"}),
    "4": ("SeatTokenB", "2026-11-21T08:05:09+08:00",
          {"U01": "基本满意", "U02": "基本满意", "U04": "满意", "U05": "不满意"}),
}  # fmt: skip


# Without a structure the map file gives the row keys pushes carry and what positions mean.
NO_STRUCTURE = '[units]\n"q2_1" = "U01"\n[answers]\n' + "".join(
    f'"{p}" = "{label}"\n' for p, label in enumerate(LABELS, start=1)
)


def source(structured: bool = True) -> SourceSettings:
    survey = parse_structure(json.dumps(structure(), ensure_ascii=False)) if structured else None
    text = MAP if structured else MAP + NO_STRUCTURE
    mapping, _ = build_map(CONTEXT, parse_title_map(text), survey)
    stored = mapping.to_json()
    return SourceSettings("wjx", {"activity": ACTIVITY}, {}, {}, stored)


def ballots(records) -> dict[str, tuple]:
    assert all(r.ballot is not None for r in records), [r.error for r in records]
    return {
        r.ballot.id: (r.ballot.token, r.ballot.submitted_at.isoformat(), r.ballot.answers)
        for r in records
    }


@pytest.mark.parametrize("by_text", [True, False], ids=["按选项文本", "按选项序号"])
@pytest.mark.parametrize(
    "form", ["xlsx", "csv-utf8-bom", "csv-utf8", "csv-gb18030", "tsv-utf8"]
)  # fmt: skip
def test_every_file_form_and_both_kinds_of_export_read_the_same_ballots(
    tmp_path: Path, form: str, by_text: bool
) -> None:
    rows = export_rows(ANSWERS, by_text=by_text)
    path = tmp_path / f"export.{form.split('-')[0]}"
    if form == "xlsx":
        write_xlsx(path, rows)
    else:
        encoding = {"csv-utf8-bom": "utf-8-sig", "csv-gb18030": "gb18030"}.get(form, "utf-8")
        write_csv(path, rows, encoding, "\t" if form.startswith("tsv") else ",")
    assert ballots(read_export(path, source())) == EXPECTED


def test_an_xls_export_with_date_cells_and_an_answer_off_the_scale(tmp_path: Path) -> None:
    """``export-by-text.xls`` (BIFF8, made with xlwt as 问卷星 writes .xls): the first time is a
    date cell, the second text; the second answer's U05 is 一般, which is not on the scale."""
    first, second = read_export(FIXTURES / "export-by-text.xls", source())
    assert first.ballot is not None and first.ballot.id == "1"
    assert first.ballot.submitted_at.isoformat() == "2026-11-05T09:03:07+08:00"
    assert first.ballot.token == "XlsSeatToken0000000000000000001"
    assert first.ballot.answers["U04"] == "不了解" and first.ballot.comments == {"U01": "办事快"}
    assert second.ballot is None and second.key == "2"
    assert "第2题(U05): answer '一般' is not on the scale" in second.error


def test_without_a_structure_rows_map_by_their_titles(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", export_rows(ANSWERS))
    assert ballots(read_export(path, source(structured=False))) == EXPECTED


def test_a_row_that_is_no_unit_is_a_rejected_ballot_naming_it(tmp_path: Path) -> None:
    rows = export_rows(ANSWERS)
    rows[0][8] = "第2题(老干部局)"  # the survey was edited after the source was added
    first, _ = read_export(write_csv(tmp_path / "e.csv", rows), source())
    assert first.ballot is None and "第2题(老干部局): not a unit of the round" in first.error


def test_a_token_in_a_link_is_taken_out_of_it_and_a_missing_one_is_named(tmp_path: Path) -> None:
    rows = export_rows(ANSWERS)
    rows[1][4] = "https://www.wjx.cn/vm/abc.aspx?sojumpparm=SeatTokenA&x=1"
    rows[2][4] = ""
    first, second = read_export(write_csv(tmp_path / "e.csv", rows), source())
    assert first.ballot is not None and first.ballot.token == "SeatTokenA"
    assert second.ballot is None and "no sojumpparm" in second.error and second.key == "4"


def test_the_recorded_2018_exports_are_read_and_what_they_lack_is_named() -> None:
    """The recorded exports (a phone survey, no unit question) had their time and source
    columns blanked by the uploader: each answer is kept, rejected, saying so."""
    for name in ("wjx-export-by-text.sample.tsv", "wjx-export-by-index.sample.tsv"):
        records = read_export(FIXTURES / name, source())
        assert [r.key for r in records] == ["1", "2"]
        for record in records:
            assert record.ballot is None
            assert "no sojumpparm" in record.error and "no submission time" in record.error
            assert "not a unit" not in record.error  # 第6题(运动) is a multi-choice option


def test_files_that_are_no_usable_export_are_refused_naming_why(tmp_path: Path) -> None:
    rows = export_rows(ANSWERS)
    no_token = [[c for i, c in enumerate(r) if i != 4] for r in rows]
    with pytest.raises(ConnectorError, match="no 来源详情 column"):
        read_export(write_csv(tmp_path / "a.csv", no_token), source())
    (tmp_path / "b.csv").write_bytes(b"\xff\xfe\x00\xd8junk")
    with pytest.raises(ConnectorError, match="neither UTF-8 nor GB18030"):
        read_export(tmp_path / "b.csv", source())
    (tmp_path / "c.xlsx").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ConnectorError, match="not a readable XLSX"):
        read_export(tmp_path / "c.xlsx", source())
    with pytest.raises(ConnectorError, match="give --source NAME"):
        read_export(write_csv(tmp_path / "d.csv", rows), None)
