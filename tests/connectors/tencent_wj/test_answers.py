"""Reading answers: matrix rows and options by their titles, the token where the source says,
Beijing time; everything that does not fit is named in a rejected record. And the webhook
verifier, which answers from the request alone. No database, no network."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.base import SetupContext, SourceSettings, WebhookMalformed, WebhookRejected
from connectors.base import WebhookRequest as Request
from connectors.tencent_wj.answers import answer_record, read_time, structure
from connectors.tencent_wj.hooks import hook_key, verifier
from connectors.titles import Titles, parse_title_map
from tests.connectors.tencent_wj.stand_in import SURVEY, event, load_fixture, make_answer

CONTEXT = SetupContext(
    units=["U01", "U02", "U03", "U04", "U05"],
    labels=["满意", "基本满意", "不满意", "不了解"],
    criteria=["总体"],
    names={"U01": "财政局", "U02": "卫健局", "U03": "税务局", "U04": "统计局", "U05": "城管局"},
)
TITLES = Titles.build(CONTEXT)


def test_the_documented_answer_list_reads_rows_by_name_or_code_and_options_by_label() -> None:
    first, second = load_fixture("list-answers.constructed.json")["data"]["list"]
    record = answer_record(first, "twj", TITLES)
    assert record.error is None and record.key == "7"
    ballot = record.ballot
    assert (ballot.id, ballot.token) == ("7", "SEAT-TOKEN-1")
    assert ballot.answers == {"U01": "满意", "U02": "基本满意", "U03": "不了解"}
    # Beijing time, without a zone on the platform: 10:01:39 in Shanghai is 02:01:39 UTC.
    assert ballot.submitted_at == datetime(2026, 11, 20, 2, 1, 39, tzinfo=UTC)
    assert ballot.comments == {}  # q-2-TeXt is no comment until the map file says whose
    # Only the chosen options are listed in the second, one without "checked" (default 1).
    assert answer_record(second, "twj", TITLES).ballot.answers == {"U01": "不满意", "U02": "满意"}
    assert json.loads(record.text)["answer_id"] == 7  # the answer kept as it came


def test_rows_that_are_no_unit_and_options_off_the_scale_are_named_in_a_rejected_record() -> None:
    item = make_answer(9, "T9", "2026-11-20 10:00:00", {"财政局": "很好", "县志办": "满意"})
    item["answer"][0]["questions"][0]["groups"][0]["options"].append(
        {"id": "o-9", "text": "满意", "checked": 1}
    )
    record = answer_record(item, "twj", TITLES)
    assert record.ballot is None and record.key == "9"  # kept under its answer id
    assert record.error == (
        "twj answer 9: row '财政局' (r-1-0001): 2 options chosen (很好、满意); "
        "row '县志办' (r-2-0002) is not a unit of the round"
    )
    off = answer_record(
        make_answer(10, "T", "2026-11-20 10:00:00", {"卫健局": "很好"}), "twj", TITLES
    )
    assert off.error == "twj answer 10: option '很好' (row '卫健局' (r-1-0001)) is not on the scale"


def test_a_missing_token_or_time_rejects_the_answer_naming_what_is_missing() -> None:
    item = make_answer(11, None, "yesterday", {"财政局": "满意"})
    assert answer_record(item, "twj", TITLES).error == (
        "twj answer 11: no seat token in openid (the link must carry it); "
        "ended_at 'yesterday' is not a time"
    )
    assert answer_record({"openid": "x"}, "twj", TITLES).key.startswith("sha256:")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-11-30 20:00:00", datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
        ("2026/11/30 20:00:00", datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
        ("2026-11-30T20:00:00+00:00", datetime(2026, 11, 30, 20, 0, tzinfo=UTC)),  # a zone stays
        (1795000000, datetime.fromtimestamp(1795000000, UTC)),
        ("", None),
        (None, None),
        ("30/11/2026", None),
    ],
)
def test_times_without_a_zone_are_beijing_time(given, expected) -> None:
    assert read_time(given) == expected


def test_the_token_field_third_party_user_or_a_custom_field() -> None:
    item = make_answer(
        12, "SSO-T", "2026-11-20 10:00:00", {"财政局": "满意"}, token_field="third_party_user"
    )
    assert answer_record(item, "twj", TITLES).error.endswith(
        "no seat token in openid (the link must carry it)"
    )
    assert answer_record(item, "twj", TITLES, "third_party_user").ballot.token == "SSO-T"
    custom = {**item, "custom_fields": {"seat": "C-1"}}
    assert answer_record(custom, "twj", TITLES, "seat").ballot.token == "C-1"
    listed = {**item, "extra": [{"key": "seat", "value": "C-2"}]}
    assert answer_record(listed, "twj", TITLES, "seat").ballot.token == "C-2"
    assert "no seat token in seat" in answer_record(item, "twj", TITLES, "seat").error


def test_the_map_file_names_rows_by_id_answers_numbers_and_comments() -> None:
    given = parse_title_map(
        '[units]\n"r-2-0002" = "U04"\n"q-3-ONE" = "U05"\n[answers]\n"非常满意" = "满意"\n"一般" = 60\n'
        '[comments]\n"q-2-TXT" = "U01"\n'
    )
    titles = Titles.build(CONTEXT, given)
    item = make_answer(13, "T", "2026-11-20 10:00:00", {"财政局": "非常满意", "某科室": "一般"},
                       {"q-2-TXT": "  窗口排队久  "})  # fmt: skip
    item["answer"][0]["questions"].append(
        {"id": "q-3-ONE", "type": "radio", "options": [{"id": "o-1", "text": "85", "checked": 1}]}
    )
    ballot = answer_record(item, "twj", titles).ballot
    assert ballot.answers == {"U01": "满意", "U04": Decimal(60), "U05": Decimal(85)}
    assert ballot.comments == {"U01": "窗口排队久"}
    # Only the named matrix question is read for units: another one is left alone.
    assert answer_record(item, "twj", titles, only=frozenset({"q-9"})).ballot.answers == {
        "U05": Decimal(85)
    }
    # The form as the answer shows it: every listed option, chosen or not.
    assert structure([item], None) == (
        [("r-1-0001", "财政局"), ("r-2-0002", "某科室")],
        ["满意", "基本满意", "不满意", "不了解", "非常满意", "一般"],
    )


def settings(**config) -> SourceSettings:
    return SourceSettings("twj", {"survey": SURVEY, **config}, {"secret": "V"}, {"secret": "s3"})


def test_the_verifier_takes_the_key_in_the_url_and_reads_nothing_else_from_the_network() -> None:
    accept = verifier(settings())
    key = hook_key("s3", "twj")
    assert len(key) == 32 and key != hook_key("s3", "other") and key != hook_key("s4", "twj")
    body = event("answer.create", 7, id="d-7")
    assert accept(Request({}, body, key)) == "d-7"
    for wrong in (None, "guess", key[:-1], key + "0"):
        with pytest.raises(WebhookRejected):
            accept(Request({}, body, wrong))
    assert accept(Request({}, b'{"action": "webhook.test"}', key)) is None  # ignored
    for bad, message in [
        (b"{oops", "the body is not UTF-8 JSON"),
        (b"[1]", "the body is not a JSON object"),
        (event("answer.create", "x"), "answer.create: payload.answer_id is missing"),
        (
            event("answer.update", 7, survey=99),
            "a delivery for survey 99; this source reads 5356056",
        ),
    ]:
        with pytest.raises(WebhookMalformed) as refused:
            accept(Request({}, bad, key))
        assert str(refused.value).startswith(message)
    # Without its own id, a delivery is named by event, answer and time.
    plain = json.loads(event("answer.update", 8))
    del plain["id"]
    assert (
        accept(Request({}, json.dumps(plain).encode(), key))
        == "answer.update:8:2021-01-26 14:00:00"
    )
