"""The structure file and the map file become a mapping; a survey that cannot work is refused at
``source add``, naming every row that is no unit and every option off the scale."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from connectors.base import ConfigError, SetupContext
from connectors.titles import parse_title_map
from connectors.wenjuanxing.survey import SurveyMap, build_map, parse_structure
from tests.connectors.wenjuanxing.wjx import LABELS, ROWS, structure

CONTEXT = SetupContext(
    units=["U01", "U02", "U03", "U04", "U05"],
    labels=LABELS,
    criteria=[],
    names={"U01": "财政局", "U02": "卫健局", "U03": "税务局", "U04": "统计局", "U05": "城管局"},
)


def parsed(data: dict) -> object:
    return parse_structure(json.dumps(data, ensure_ascii=False))


def test_rows_titled_by_name_or_code_and_options_titled_by_label_map_by_themselves() -> None:
    survey, notes = build_map(CONTEXT, None, parsed(structure()))
    assert survey.rows == {f"q2_{r}": f"U0{r}" for r in range(1, 6)}
    assert survey.options["q2_3"] == {"1": "满意", "2": "基本满意", "3": "不满意", "4": "不了解"}
    assert survey.ignored == ["q1"] and any("q1 '您的身份'" in n for n in notes)
    assert survey.answer("q2_3", "2") == "基本满意"  # a push's position
    assert survey.answer(None, "不满意") == "不满意"  # an export's text
    assert survey.answer("q2_3", "5") is None  # no fifth column: never guessed
    assert survey.row_key("q2", "卫健局") == "q2_2" and survey.row_key("q3", "卫健局") is None
    assert SurveyMap.from_json(json.loads(json.dumps(survey.to_json()))) == survey


def test_rows_that_are_no_unit_and_options_off_the_scale_are_refused_by_name() -> None:
    data = structure(rows=["财政局", "卫健局", "老干部局", "统计局"], labels=[*LABELS[:3], "一般"])
    with pytest.raises(ConfigError) as refused:
        build_map(CONTEXT, None, parsed(data))
    message = str(refused.value)
    assert "row '老干部局' (q2_3) is not a unit of the round" in message
    assert "option '一般' (q2_1#4) is not on the scale" in message
    assert message.count("一般") == 1  # one option, named once, not once per row


def test_the_map_file_names_rows_and_options_the_titles_do_not() -> None:
    data = structure(rows=["财政局", "卫健局", "老干部局", "统计局"], labels=[*LABELS[:3], "一般"])
    given = parse_title_map('[units]\n"q2_3" = "U03"\n[answers]\n"一般" = "基本满意"\n')
    survey, notes = build_map(CONTEXT, given, parsed(data))
    assert survey.rows["q2_3"] == "U03" and survey.options["q2_1"]["4"] == "基本满意"
    assert any("1 units of the round are in no row: U05" in n for n in notes)


def test_two_rows_for_one_unit_are_refused() -> None:
    with pytest.raises(ConfigError, match="rows q2_1 and q2_2 are both unit U01"):
        build_map(CONTEXT, None, parsed(structure(rows=["财政局", "U01"])))


def test_without_a_structure_the_map_file_must_give_row_keys_and_positions() -> None:
    with pytest.raises(ConfigError) as refused:
        build_map(CONTEXT, parse_title_map('[answers]\n"非常满意" = "满意"\n'), None)
    assert '[units] by row key (e.g. "q5_1" = "FY-LAT")' in str(refused.value)
    assert '[answers] by position (e.g. "1" = "满意")' in str(refused.value)
    given = parse_title_map(
        '[units]\n"q2_1" = "U01"\n"q2_2" = "U02"\n[answers]\n"1" = "满意"\n"2" = 85\n'
    )
    survey, notes = build_map(CONTEXT, given, None)
    assert survey.answer("q2_1", "1") == "满意" and survey.answer("q2_2", "2") == Decimal(85)
    assert not survey.structured and "checked on each ballot" in notes[0]


def test_a_structure_file_of_another_shape_is_refused_saying_what_it_holds() -> None:
    with pytest.raises(ConfigError, match="not JSON"):
        parse_structure("{oops")
    with pytest.raises(ConfigError, match=r"found: questions, title"):
        parse_structure('{"questions": [], "title": "x"}')
    wrapped = parse_structure(json.dumps({"result": True, "data": structure()}))
    assert wrapped.rows["q2_1"] == ROWS[0]
    odd = parse_structure(json.dumps({**structure(), "q2_x": "?", "q4": {"nested": 1}}))
    assert odd.unread == ["q2_x", "q4"]
    _, notes = build_map(CONTEXT, None, odd)
    assert "structure keys not read: q2_x, q4" in notes


def test_a_single_choice_question_titled_with_a_unit_is_that_units_row() -> None:
    rows = structure(rows=["财政局", "卫健局", "税务局", "统计局"])  # U05 is not in the matrix
    data = {**rows, "q4": "城管局（执法大队）", "q4#1": "满意", "q4#2": "不满意"}
    given = parse_title_map('[units]\n"城管局(执法大队)" = "U05"\n')
    survey, _ = build_map(CONTEXT, given, parsed(data))
    assert survey.rows["q4"] == "U05" and survey.answer("q4", "2") == "不满意"
    twice = {**data, "q2_5": "U05", "q2_5#1": "满意"}
    with pytest.raises(ConfigError, match="rows q2_5 and q4 are both unit U05"):
        build_map(CONTEXT, given, parsed(twice))
