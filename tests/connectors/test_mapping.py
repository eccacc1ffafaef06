"""Mappings built from the recorded LimeSurvey fieldmap, scale files, and response rows."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.base import ConfigError
from connectors.limesurvey.connector import LimeSurvey
from connectors.limesurvey.survey import build_mapping
from connectors.mapping import Mapping, Scale, load_scale, match_units
from tests.fake_limesurvey import load_fixture

FIELDMAP = load_fixture("get-fieldmap.json")
ROWS = {r["id"]: r for r in load_fixture("export-responses-all-code-short.json")["responses"]}
UNITS = ["U01", "U02", "U03", "U04", "U05"]
LABELS = ["满意", "基本满意", "不满意", "不了解"]


def no_options(_qid: object) -> dict[str, str]:
    raise AssertionError("answer options are not needed for this question")


def build(question: str = "SCORES", scale: Scale | None = None, **kw: object) -> Mapping:
    kw.setdefault("units", UNITS)
    kw.setdefault("criteria", ["总体"])
    kw.setdefault("answer_options", no_options)
    mapping, _ = build_mapping(
        FIELDMAP, question, kw["units"], LABELS, kw["criteria"], scale or Scale(),
        kw["answer_options"], kw.get("comments"),
    )  # fmt: skip
    return mapping


def as_array(title: str = "SAT") -> dict:
    """The recorded SCORES question turned into an F Array (answer options), for label tests."""
    fm = copy.deepcopy(FIELDMAP)
    for entry in fm.values():
        if entry.get("title") == "SCORES":
            entry["type"], entry["title"] = "F", title
    return fm


def test_scores_array_maps_rows_to_units_and_answers_times_the_factor() -> None:
    mapping = build(scale=Scale(factor=Decimal(10)))
    assert [(c.key, c.field, c.unit) for c in mapping.columns][:2] == [
        ("SCORES[U01]", "248135X1X1U01", "U01"),
        ("SCORES[U02]", "248135X1X1U02", "U02"),
    ]
    answers, comments = mapping.apply(ROWS[1])
    assert answers == {"U01": 70, "U02": 90, "U03": 40, "U04": 100, "U05": 60}
    assert comments == {}
    # Row 2 stopped after two answers: empty strings are unanswered, not zero.
    assert mapping.apply(ROWS[2])[0] == {"U01": 30, "U02": 50}


def test_the_mapping_survives_its_json_round_trip() -> None:
    mapping = build(scale=Scale(answers={"10": Decimal("100")}, factor=Decimal("9.5")))
    again = Mapping.from_json(mapping.to_json())
    assert again == mapping
    assert again.apply(ROWS[1])[0]["U04"] == Decimal("100")  # the listed code wins
    assert again.apply(ROWS[1])[0]["U01"] == Decimal("66.5")


def test_a_ten_point_array_without_a_scale_is_refused_with_the_fix() -> None:
    with pytest.raises(
        ConfigError,
        match=r"Array \(10 point choice\): its answers 1–10 need a scale file, e.g. factor = 10",
    ):
        build()


def test_a_sub_question_that_is_not_a_unit_is_named() -> None:
    with pytest.raises(ConfigError, match=r"not unit codes: U05 \(Unit 05 - Municipal Services\)"):
        build(scale=Scale(factor=Decimal(10)), units=UNITS[:4])


def test_unit_codes_with_punctuation_match_letters_and_digits_only_codes() -> None:
    matched, unmatched = match_units(["FYLAT", "ga01", "X9"], ["FY-LAT", "GA-01", "JC-02"])
    assert matched == {"FYLAT": "FY-LAT", "ga01": "GA-01"} and unmatched == ["X9"]
    # Ambiguous after removing punctuation: refused rather than guessed.
    assert match_units(["AB1"], ["A-B1", "AB-1"]) == ({}, ["AB1"])


def test_a_missing_question_lists_the_survey_codes() -> None:
    with pytest.raises(
        ConfigError,
        match=r"'NOPE' is not in the survey \(its question codes: COMMENT, SCORENUM, SCORES\)",
    ):
        build("NOPE")


def test_a_free_text_question_is_not_a_scores_question() -> None:
    with pytest.raises(ConfigError, match=r"question COMMENT is of type 'T'"):
        build("COMMENT")


def test_two_axis_numbers_array_columns_become_criteria() -> None:
    by_scale = build(
        "SCORENUM", Scale(criteria={"QUAL": "质量", "TIME": "时效"}), criteria=["质量", "时效"]
    )
    answers, _ = by_scale.apply(ROWS[1])
    assert answers["U01"] == {"质量": 70, "时效": 65}
    assert answers["U05"] == {"质量": 55, "时效": 60}
    assert by_scale.apply(ROWS[6])[0] == {"U01": {"质量": 33}}  # a half-answered unit
    by_label = build("SCORENUM", criteria=["Quality", "Timeliness"])
    assert by_label.apply(ROWS[5])[0]["U03"] == {"Quality": 93, "Timeliness": 90}


def test_two_axis_columns_that_are_no_criterion_are_refused() -> None:
    with pytest.raises(
        ConfigError, match=r"column 'QUAL' \(Quality\) is not a criterion of the rules \(总体\)"
    ):
        build("SCORENUM")
    with pytest.raises(
        ConfigError, match=r"gives one answer per unit, but the rules score 2 criteria"
    ):
        build(scale=Scale(factor=Decimal(10)), criteria=["质量", "时效"])


def test_answer_options_map_by_their_labels_or_through_the_scale_file() -> None:
    options = {"A1": "满意", "A2": "<p>基本满意</p>", "A3": "不满意", "A4": "不了解"}
    fm = as_array()
    mapping, _ = build_mapping(fm, "SAT", UNITS, LABELS, ["总体"], Scale(), lambda _q: options)
    assert mapping.answers == {"A1": "满意", "A2": "基本满意", "A3": "不满意", "A4": "不了解"}
    assert mapping.value("A2") == "基本满意"
    assert mapping.value("A9") == "A9"  # an unknown code is passed on, to be rejected by name
    english = {"A1": "Satisfied", "A2": "Fairly", "A3": "Unsatisfied", "A4": "Don't know"}
    with pytest.raises(ConfigError, match=r"not on the scale .*: A1 \(Satisfied\), A2 \(Fairly\)"):
        build_mapping(fm, "SAT", UNITS, LABELS, ["总体"], Scale(), lambda _q: english)
    scale = Scale(answers={"A1": "满意", "A2": "基本满意", "A3": "不满意", "A4": "不了解"})
    mapping, _ = build_mapping(fm, "SAT", UNITS, LABELS, ["总体"], scale, lambda _q: english)
    assert mapping.answers["A4"] == "不了解"


def test_a_scale_file_naming_a_label_off_the_scale_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scale.toml"
    path.write_text('[answers]\nA1 = "很满意"\n', encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"\[answers\]: not a label of the rules' scale .*A1 = '很满意'"
    ):
        build_mapping(
            as_array(), "SAT", UNITS, LABELS, ["总体"], load_scale(path), lambda _q: {"A1": "x"}
        )


def test_scale_files_are_read_strictly(tmp_path: Path) -> None:
    path = tmp_path / "scale.toml"
    path.write_text(
        '\ufefffactor = 10\n[answers]\nA1 = "满意"\nA5 = 87.5\n[criteria]\nQUAL = "质量"\n',
        encoding="utf-8",
    )
    scale = load_scale(path)
    assert scale.factor == 10 and scale.answers == {"A1": "满意", "A5": Decimal("87.5")}
    assert scale.criteria == {"QUAL": "质量"}
    for text, error in [
        ("factr = 10\n", "unknown key 'factr'"),
        ("factor = -1\n", "factor: must be positive"),
        ('[answers]\nA1 = ""\n', "A1: empty label"),
        ("[answers]\nA1 = true\n", "A1: expected a number"),
        ("factor = \n", "scale.toml"),
    ]:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=error):
            load_scale(path)


def test_comments_come_from_a_multiple_short_text_question_per_unit() -> None:
    fm = copy.deepcopy(FIELDMAP)
    for code in UNITS:
        fm[f"248135X2X9{code}"] = {
            "fieldname": f"248135X2X9{code}",
            "type": "Q",
            "title": "PROBLEMS",
            "aid": code,
        }
    mapping, _ = build_mapping(
        fm, "SCORES", UNITS, LABELS, ["总体"], Scale(factor=Decimal(10)), no_options, "PROBLEMS"
    )
    row = {
        **ROWS[1],
        "PROBLEMS[U02]": "  排队太久  ",
        "PROBLEMS[U03]": "",
        "PROBLEMS[U04]": "长" * 2500,
    }
    _, comments = mapping.apply(row)
    assert comments["U02"] == "排队太久" and "U03" not in comments
    assert len(comments["U04"]) == 2000 and comments["U04"].endswith("…")
    with pytest.raises(ConfigError, match="comments question COMMENT is of type 'T'"):
        build_mapping(
            fm, "SCORES", UNITS, LABELS, ["总体"], Scale(factor=Decimal(10)), no_options, "COMMENT"
        )


def connector(tz: str = "Asia/Shanghai") -> LimeSurvey:
    mapping = build(scale=Scale(factor=Decimal(10))).to_json()
    config = {
        "url": "http://127.0.0.1:9/",
        "survey": 248135,
        "username": "u",
        "password_env": "X",
        "tz": tz,
    }
    return LimeSurvey(config, {"password": "p"}, mapping)


def test_a_response_row_becomes_a_ballot_in_the_servers_time_zone() -> None:
    record = connector().record(ROWS[5])
    b = record.ballot
    assert record.key == "5" and b.token == "E4K3FYpUaWa9zaz"
    assert b.submitted_at.astimezone(UTC) == datetime(2026, 11, 25, 23, 54, 11, tzinfo=UTC)
    assert b.answers == {"U01": 80, "U02": 60, "U03": 90, "U04": 20, "U05": 50}
    assert connector("UTC").record(ROWS[5]).ballot.submitted_at == datetime(
        2026, 11, 26, 7, 54, 11, tzinfo=UTC
    )
    # The raw row is kept verbatim (as sorted JSON) whatever becomes of it.
    assert '"COMMENT": "J03 via the public web form' in record.text


def test_rows_that_cannot_be_ballots_say_why() -> None:
    ls = connector()
    no_token = ls.record({**ROWS[1], "token": ""})
    assert no_token.ballot is None and no_token.key == "1"
    assert "no access code" in no_token.error
    hidden = ls.record({**ROWS[1], "submitdate": "1980-01-01 00:00:00"})
    assert "Date stamp is off" in hidden.error


def test_platform_tokens_fit_limesurvey_access_codes() -> None:
    seat = "Xy-_" + "a" * 39  # pingyi's 43-character URL-safe tokens
    code = LimeSurvey.platform_token(seat)
    assert len(code) == 32 and code.isalnum() and code == LimeSurvey.platform_token(seat)
    assert LimeSurvey.platform_token("A" * 36) == "A" * 36  # already a valid access code
    assert LimeSurvey.platform_token("abc~_09") == "abc~_09"
