"""Rows and options matched by their titles, and the map file that says the rest."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.base import ConfigError, SetupContext
from connectors.titles import Titles, normal_title, parse_title_map

CONTEXT = SetupContext(
    units=["FY-LAT", "GA-01", "GA-02"],
    labels=["满意", "基本满意", "不满意", "不了解"],
    criteria=[],
    names={"FY-LAT": "县法院立案庭（诉讼服务中心）", "GA-01": "城关派出所", "GA-02": "城关派出所"},
)


def test_rows_match_by_code_name_and_letters_and_a_shared_name_matches_nothing() -> None:
    titles = Titles.build(CONTEXT)
    assert titles.unit(title="FY-LAT") == "FY-LAT"
    assert titles.unit(title="fylat") == "FY-LAT"  # letters and digits, any case
    assert titles.unit(title="县法院立案庭(诉讼服务中心)") == "FY-LAT"  # half-width brackets
    assert titles.unit(title=" 县法院 立案庭（诉讼服务中心）<br>") == "FY-LAT"
    assert titles.unit(title="城关派出所") is None  # two units have that name: never guessed
    assert titles.answer("满意") == "满意" and titles.answer("非常满意") is None


def test_the_map_file_names_keys_titles_answers_and_comments() -> None:
    given = parse_title_map(
        '[units]\n"q5_2" = "GA-01"\n"城关派出所（东）" = "GA-02"\n'
        '[answers]\n"非常满意" = "满意"\n"5" = 100\n[comments]\n"q7" = "FY-LAT"\n'
    )
    titles = Titles.build(CONTEXT, given)
    assert titles.unit("q5_2", "城关派出所") == "GA-01"
    assert titles.unit(title="城关派出所(东)") == "GA-02"
    assert titles.answer("非常满意") == "满意" and titles.answer("5") == Decimal(100)
    assert titles.comment_unit("q7") == "FY-LAT" and titles.comment_unit("q8") is None
    assert Titles.from_json(titles.to_json()) == titles
    assert titles.problems([("q5_1", "城关派出所"), ("q5_2", "x")], ["满意", "很好", "很好"]) == [
        "row '城关派出所' (q5_1) is not a unit of the round",
        "option '很好' is not on the scale",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[unit]\n", "map file: unknown section 'unit' (known: units, answers, comments)"),
        ('[units]\n"q1" = 3\n', "map file [units].q1: expected a unit code, got 3"),
        ('[answers]\n"a" = ""\n', "map file [answers].a: empty label"),
        ("units = 3\n", "map file: [units] must be a table of key = value"),
        ("[units\n", "map file: "),
    ],
)
def test_a_bad_map_file_is_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_title_map(text)
    assert str(refused.value).startswith(message)


def test_a_map_naming_what_the_round_lacks_is_refused() -> None:
    with pytest.raises(ConfigError, match="'XX' is not a unit of the round"):
        Titles.build(CONTEXT, parse_title_map('[units]\n"q1" = "XX"\n'))
    with pytest.raises(ConfigError, match="'很好' is not a label of the scale"):
        Titles.build(CONTEXT, parse_title_map('[answers]\n"a" = "很好"\n'))
    assert normal_title("Ａ　B") == "AB"
