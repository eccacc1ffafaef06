"""The canonical ballot's answers are checked in one pass (connectors/canonical.py): the shapes
refused there are refused with the place named, and every string is tested for what no column
can hold, key and value, however the text is written."""

from __future__ import annotations

import pytest

from connectors.canonical import load_ballot, unstorable_text

GOOD = {"id": "r1", "token": "t", "submitted_at": "2026-10-20T10:00:00+08:00"}


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([1, 2], "answers: expected an object of answers by unit code"),
        ("满意", "answers: expected an object of answers by unit code"),
        ({"": "满意"}, "unit code '': 1 to 64 characters"),
        ({"U" * 65: "满意"}, "1 to 64 characters"),
        ({"A": ["满意"]}, "A: expected a label, a number, or an object of criterion answers"),
        ({"A": {"c": True}}, "A.c: expected a label or a number"),
    ],
)
def test_answers_of_the_wrong_shape_are_refused_with_the_place(answers, message) -> None:
    record = load_ballot({**GOOD, "answers": answers}, "f, line 1", "{}")
    assert record.ballot is None and message in record.error


def test_good_answers_load() -> None:
    record = load_ballot({**GOOD, "answers": {"A": "满意", "B": {"c": 90}}}, "f", "{}")
    assert record.error is None and record.ballot.answers["B"] == {"c": 90}


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"answers": {"A": "满\x00意"}}, "answers.A: contains a NUL"),
        ({"answers": {"A\ud800": "满意"}}, "answers.A\\ud800 (the key): contains an unpaired"),
        ({"comments": {"A": ["ok", "x\udfff"]}}, "comments.A[1]: contains an unpaired"),
    ],
)
def test_unstorable_text_is_found_in_keys_values_and_lists(value, where) -> None:
    assert where in unstorable_text(value)


def test_ordinary_text_in_any_script_is_storable() -> None:
    assert unstorable_text({"答复": ["满意", "emoji 😀", "ascii", 1, None]}) is None
