"""Entries as records: the published samples' envelope, the documented matrix read format and its
variants (codes, an object of rows), and every entry that cannot be a ballot kept with its
reason. No database: the mapping is built from the constructed schema against a round's units."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.base import SetupContext
from connectors.jinshuju.entries import entry_record
from connectors.jinshuju.form import FormMap, build_form_map
from connectors.titles import parse_title_map
from tests.connectors.jinshuju.conftest import MAP
from tests.connectors.jinshuju.stand_in import FORM, SCHEMA, fixture, make_entry

CONTEXT = SetupContext(
    units=["U01", "U02", "U03", "U04", "U05"],
    labels=["满意", "基本满意", "不满意", "不了解"],
    criteria=[],
    names={"U01": "财政局", "U02": "卫健局", "U03": "税务局", "U04": "统计局", "U05": "城管局"},
)
ROWS = {
    "财政局": "满意",
    "卫健局": "一般",
    "税务局": "不满意",
    "U04": "不了解",
    "县城市管理局": "满意",
}
EXPECTED = {"U01": "满意", "U02": "基本满意", "U03": "不满意", "U04": "不了解", "U05": "满意"}


@pytest.fixture(scope="module")
def forms() -> FormMap:
    built, notes = build_form_map(FORM, SCHEMA, CONTEXT, parse_title_map(MAP))
    assert notes == []
    return FormMap.from_json(built.to_json())  # as stored and read back


def test_the_published_samples_read_their_envelope_token_and_utc_time(forms) -> None:
    pushed = fixture("jinshuju-webhook.json")["entry"]
    record = entry_record(pushed, forms, "sample")
    assert record.error is None and record.ballot is not None
    assert (record.ballot.id, record.ballot.token) == ("123", "这是一行文字")
    assert record.ballot.submitted_at == datetime(2025, 8, 26, 9, 55, 12, 740000, tzinfo=UTC)
    assert record.ballot.answers == {} and record.key == "123"
    assert record.ballot.comments == {"U05": "张三"}  # its field_2 is our comment field
    # The API's sample has no x_field_1 and a text where our form has its matrix: both named.
    entry = fixture("jinshuju-entry-api.json")["entry"]
    refused = entry_record(entry, forms, "poll")
    assert refused.ballot is None and refused.response_id == "1"
    assert "no seat token: x_field_1 is empty" in refused.error
    assert "field_1: cannot read a 矩阵单选 answer of type str" in refused.error


@pytest.mark.parametrize(
    ("codes", "shape"), [(False, "list"), (True, "list"), (False, "dict"), (True, "dict")]
)
def test_matrix_rows_read_by_text_or_code_as_a_list_or_an_object(forms, codes, shape) -> None:
    entry = make_entry(7, "tok-7", ROWS, codes=codes, shape=shape, field_2=" 占道经营要管 ")
    record = entry_record(entry, forms, "poll")
    assert record.error is None, record.error
    assert record.ballot.answers == EXPECTED and record.ballot.id == "7"
    assert record.ballot.comments == {"U05": "占道经营要管"}


def test_what_cannot_be_a_ballot_is_kept_with_its_reason(forms) -> None:
    def error(entry: dict) -> str:
        record = entry_record(entry, forms, "poll")
        assert record.ballot is None and record.text  # kept, verbatim
        return record.error

    assert "field_1 row '县档案局' is not a unit of the round" in error(
        make_entry(8, "t", {**ROWS, "县档案局": "满意"})
    )
    assert "created_at '2026-11-20 10:00:00' is not a time with a zone" in error(
        make_entry(9, "t", ROWS, at="2026-11-20 10:00:00")
    )
    assert "cannot read a 矩阵单选 answer of type str" in error(
        {**make_entry(10, "t", ROWS), "field_1": "满意"}
    )
    assert "the entry has no serial_number" in error({"x_field_1": "t"})
    # A column off the scale is passed on as written: the round's judge names it.
    off = entry_record(make_entry(11, "t", {"财政局": "很好"}), forms, "poll")
    assert off.ballot is not None and off.ballot.answers == {"U01": "很好"}


def test_a_number_in_the_map_file_is_an_exact_answer() -> None:
    given = parse_title_map(MAP.replace('"一般" = "基本满意"', '"一般" = 87.5'))
    forms, _ = build_form_map(FORM, SCHEMA, CONTEXT, given)
    record = entry_record(make_entry(12, "t", {"卫健局": "一般"}), forms, "poll")
    assert record.ballot.answers == {"U02": Decimal("87.5")}


@pytest.mark.parametrize("codes", [False, True])
def test_a_map_file_may_name_api_codes_whatever_the_entry_carries(codes: bool) -> None:
    given = parse_title_map('[units]\n"Qe5v" = "U05"\n[answers]\n"c7Mr" = "基本满意"\n')
    forms, _ = build_form_map(FORM, SCHEMA, CONTEXT, given)
    record = entry_record(make_entry(13, "t", ROWS, codes=codes), forms, "poll")
    assert record.error is None and record.ballot.answers == EXPECTED
