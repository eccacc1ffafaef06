"""A record's hash is exactly the reference serialiser's bytes, written faster (issue #13).

``record_hash`` hashes a ballot's canonical text, written by orjson where its bytes are those of
``connectors.canonical.canonical_text`` (``service.store.ballots._ballot_bytes``). Held here to
the reference on every object of the platform fixtures and on random and hostile ballots, with a
stored digest pinned: a hash that moved would make every record sent again a new version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.canonical import canonical_text, decode_json, load_ballot
from service.store.ballots import _ballot_bytes, _canonical, record_hash
from tests.jobs.test_ingest_fast_paths import UNITS, tricky_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _lines_of_fixtures() -> list[Any]:
    """Every JSON value in the platform fixtures, and every JSON line or array item in them."""
    values: list[Any] = []
    for path in sorted(FIXTURES.rglob("*.json*")):
        text = path.read_text(encoding="utf-8-sig")
        try:
            values.append(decode_json(text))
        except ValueError:
            values.extend(decode_json(line) for line in text.splitlines() if line.strip())
    return values


def _objects(value: Any) -> list[dict]:
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def test_the_hash_text_of_every_object_in_the_fixtures_is_unchanged() -> None:
    objects = [o for v in _lines_of_fixtures() for o in _objects(v)]
    assert len(objects) > 100
    written = 0
    for obj in objects:
        try:
            reference = _canonical(obj)
            reference.encode("utf-8")
        except (TypeError, ValueError):  # what the reference cannot store either
            continue
        assert _ballot_bytes(obj) == reference.encode("utf-8")
        written += 1
    assert written > 100


@given(
    st.dictionaries(
        tricky_text.filter(lambda s: not any("\ud800" <= c <= "\udfff" for c in s)),
        st.one_of(
            tricky_text.filter(lambda s: not any("\ud800" <= c <= "\udfff" for c in s)),
            st.integers(-(10**30), 10**30),
            st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1]),
            st.decimals(allow_nan=False, allow_infinity=False),
            st.booleans(),
            st.none(),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
        max_size=8,
    ),
    st.dictionaries(st.sampled_from(UNITS), st.text(max_size=5), max_size=3),
)
@settings(max_examples=400)
def test_the_hash_text_of_a_ballot_is_the_reference_text(answers: dict, comments: dict) -> None:
    basis = {"id": "r1", "token": "t", "submitted_at": "2026-10-20T10:00:00+08:00",
             "answers": answers, "comments": comments}  # fmt: skip
    assert (
        _ballot_bytes(basis)
        == _canonical(basis).encode("utf-8")
        == canonical_text(basis).encode("utf-8")
    )


_ballot_text_value = tricky_text.filter(lambda s: not any("\ud800" <= c <= "\udfff" for c in s))
_ballot_scalar = st.one_of(
    _ballot_text_value,
    st.integers(-(10**30), 10**30),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63) - 1]),
    st.decimals(allow_nan=False, allow_infinity=False),
)


@given(
    st.dictionaries(
        _ballot_text_value,
        st.one_of(_ballot_scalar, st.dictionaries(_ballot_text_value, _ballot_scalar, min_size=1)),
        max_size=8,
    ),
    st.dictionaries(st.sampled_from(UNITS), _ballot_text_value, max_size=3),
)
@settings(max_examples=400)
def test_a_validated_ballot_hashes_the_reference_text_unwalked(
    answers: dict, comments: dict
) -> None:
    """``record_hash`` skips the shape walk for a validated ballot (text, integers, Decimals and
    criterion objects of those): orjson's bytes, or the reference's where it refuses a value,
    are still exactly the reference text."""
    basis = {"id": "r1", "token": "t", "submitted_at": "2026-10-20T10:00:00+08:00",
             "answers": answers, "comments": comments}  # fmt: skip
    assert _ballot_bytes(basis, validated=True) == canonical_text(basis).encode("utf-8")


def test_a_province_style_ballot_hashes_as_before() -> None:
    """Pinned: the hash text of a plain ballot, byte for byte (the C encoder's, sorted)."""
    basis = {"id": "b00001", "token": "tok", "submitted_at": "2026-10-20T10:00:00+08:00",
             "answers": {"U0002": "满意", "U0001": "不了解", 'U"3': 87}, "comments": {}}  # fmt: skip
    text = _ballot_bytes(basis)
    assert (
        text
        == (
            '{"answers":{"U\\"3":87,"U0001":"不了解","U0002":"满意"},"comments":{},'
            '"id":"b00001","submitted_at":"2026-10-20T10:00:00+08:00","token":"tok"}'
        ).encode()
    )
    assert text == _canonical(basis).encode("utf-8")


def test_a_stored_hash_still_matches_its_record() -> None:
    """Pinned: the digest ``record_hash`` gives a plain ballot, as stored before orjson wrote
    its bytes (a stored hash that moved would make every record sent again a new version)."""
    line = '{"id": "b00001", "token": "tok", "submitted_at": "2026-10-20T10:00:00+08:00", '
    line += '"answers": {"U0002": "满意", "U0001": "不了解"}}'
    record = load_ballot(decode_json(line), "f, line 1", line)
    assert record_hash(record) == (
        "fa0810ba1de37c1ffec6eac80517b3c6ecea6798fb12de9042fc88072cab579a"
    )
