"""The canonical ballot (docs/connectors.md): the one shape that leaves ``connectors/``.

Numbers are parsed as ``Decimal`` (``json.loads(parse_float=Decimal)``) and kept exact all the way
to the score: an answer of 87.5 must never become 87.49999….
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

# Limits keep a hostile or broken payload from growing without bound; a county round has ~100
# units and a province ~5,000, each with a handful of criteria.
MAX_UNITS = 20_000
MAX_CRITERIA = 50
MAX_COMMENT = 2_000
# A ballot is an object of answers, each an object of criterion answers: four levels at most. A
# deeper record is not a ballot, and refusing it before anything recurses over it keeps a
# 600-deep item from exhausting the worker's stack.
MAX_DEPTH = 4

AnswerValue = str | Decimal | int
Answers = dict[str, AnswerValue | dict[str, AnswerValue]]


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


# Exact decimals, and NaN/Infinity refused: a score must be a real number.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)


def decode_json(text: str) -> Any:
    """Decode JSON with exact decimals; raises ValueError for anything that is not plain JSON,
    including NaN/Infinity and nesting too deep for the parser (Python's decoder gives up with
    RecursionError at about a thousand levels: that must be a bad record, not a crashed job)."""
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def depth_of(value: Any, limit: int) -> int:
    """How deeply lists and objects nest in ``value``, counted without recursion and only up to
    ``limit + 1`` (enough to say it is too deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if not isinstance(item, dict | list):
            continue
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, level + 1) for child in children)
    return deepest


def unstorable_text(value: Any) -> str | None:
    """Where a string (key or value) holds what no database column takes: a NUL byte
    (PostgreSQL text refuses it) or a lone surrogate (not Unicode, cannot be UTF-8). Names the
    first such place, or None. Call on a value already within MAX_DEPTH.

    Every ballot goes through here, so the common case is a pass without paths that tests each
    string in C (``in``, ``isascii``, ``encode``); only a record that fails it is walked again
    to name the place."""
    if not _any_unstorable(value):
        return None
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{key}" if path else str(key)
                stack.append((key, f"{where} (the key)"))
                stack.append((child, where))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, str):
            if "\x00" in item:
                return f"{_printable(path or 'the record')}: contains a NUL character"
            if any("\ud800" <= ch <= "\udfff" for ch in item):
                where = _printable(path or "the record")
                return f"{where}: contains an unpaired surrogate (not valid Unicode)"
    return None


def _any_unstorable(value: Any) -> bool:
    """Whether any string (key or value) holds a NUL or a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and ("\x00" in item or not _encodable(item)):
            return True
    return False


def _encodable(text: str) -> bool:
    """UTF-8 can hold it (no lone surrogate); ASCII text is answered without encoding."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(text: str) -> str:
    """A name safe to store and print even when it holds the very characters it reports."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | Decimal | int) and not isinstance(value, bool)


def _check_answers(answers: Any) -> None:
    """Raise (marshmallow 4 validators must raise) when the answers have the wrong shape.

    Checked here in one loop rather than by a ``fields.Dict`` of key and value fields, which
    costs two field deserialisations per unit: 98 units × every ballot was a third of the
    ingest job's time."""
    if not isinstance(answers, dict):
        raise ValidationError("expected an object of answers by unit code")
    if len(answers) > MAX_UNITS:
        raise ValidationError(f"more than {MAX_UNITS} units")
    for unit, value in answers.items():
        if not 1 <= len(unit) <= 64:
            raise ValidationError(f"unit code {unit[:64]!r}: 1 to 64 characters")
        if _is_scalar(value):
            continue
        if isinstance(value, dict) and value:
            if len(value) > MAX_CRITERIA:
                raise ValidationError(f"{unit}: more than {MAX_CRITERIA} criteria")
            bad = [c for c, v in value.items() if not _is_scalar(v)]
            if not bad:
                continue
            raise ValidationError(f"{unit}.{bad[0]}: expected a label or a number")
        raise ValidationError(
            f"{unit}: expected a label, a number, or an object of criterion answers"
        )


class CanonicalBallotSchema(Schema):
    """Marshmallow 4 schema of one canonical ballot; unknown fields are refused (RAISE)."""

    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    submitted_at = fields.AwareDateTime(required=True)
    answers = fields.Raw(required=True, validate=_check_answers)
    comments = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=64)),
        values=fields.String(validate=validate.Length(max=MAX_COMMENT)),
        load_default=dict,
    )


@dataclass(frozen=True)
class CanonicalBallot:
    """A ballot as a connector hands it over: platform response id, seat token, answers."""

    id: str
    token: str
    submitted_at: datetime
    answers: Answers
    comments: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RawRecord:
    """One record as received, whether or not it is a well-formed ballot.

    ``where`` locates it for error messages (``file, line 3``); ``text`` is kept verbatim so a
    rejected record is never lost; ``ballot`` is set when it loaded, else ``error`` says why.
    """

    where: str
    text: str
    ballot: CanonicalBallot | None = None
    error: str | None = None
    response_id: str | None = None

    @property
    def key(self) -> str:
        """The idempotency key: the platform's response id, or a hash of an unreadable record."""
        if self.ballot is not None:
            return self.ballot.id
        if self.response_id:
            return self.response_id
        return "sha256:" + hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:40]


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            name = "" if key == "_schema" else f"{prefix}{key}"
            out.extend(_flatten(value, f"{name}." if name else prefix))
        return out
    if isinstance(messages, list):
        return [m for item in messages for m in _flatten(item, prefix)]
    return [f"{prefix.rstrip('.')}: {messages}" if prefix else str(messages)]


# The fields a ballot may have, and the plain answer types (``bool`` is an ``int`` but no
# answer: checked by exact type, so it takes the full validation and its message).
_FIELDS = frozenset(CanonicalBallotSchema._declared_fields)
_PLAIN = frozenset({str, int, Decimal})
_SUBMITTED_AT = CanonicalBallotSchema().fields["submitted_at"]


def _well_formed(data: dict) -> CanonicalBallot | None:
    """The ballot of a record that plainly passes every check of the full validation, or None
    to let that validation run and name what is wrong.

    A province file is 5,000 records of ~450 answers each; walking each answer in Python (shape,
    depth, NUL, surrogates, then marshmallow) cost more than parsing the JSON. Here every test is
    one pass in C over a whole record: its field names, the types of all its answers, the
    lengths of its unit codes, and one string of all its text for NUL and lone surrogates. Only a
    record of that plain shape (answers that are labels or numbers, comments that are text) is
    decided here; it is then exactly what ``CanonicalBallotSchema`` would load. Criterion objects,
    and anything that fails a test, go the full way, so every error message stays as it was."""
    if not data.keys() <= _FIELDS:
        return None
    rid, token, at = data.get("id"), data.get("token"), data.get("submitted_at")
    answers, comments = data.get("answers"), data.get("comments", {})
    if not (type(rid) is str and type(token) is str and type(at) is str):
        return None
    if not (0 < len(rid) <= 200 and 0 < len(token) <= 200):
        return None
    if type(answers) is not dict or type(comments) is not dict or len(answers) > MAX_UNITS:
        return None
    values = answers.values()
    try:  # labels only, the common case: joining them is the type test (text and nothing else)
        labels = "".join(values)
    except TypeError:  # numbers among them: each of an answer's plain types, or the full way
        if not set(map(type, values)) <= _PLAIN:
            return None
        labels = "".join([v for v in values if type(v) is str])
    try:  # str.join refuses a key or comment that is not text: the full way names it
        text = "".join((rid, token, at, *answers, *comments, *comments.values(), labels))
    except TypeError:
        return None
    if "\x00" in text or not _encodable(text):
        return None
    # No empty code is one look-up (the only code shorter than 1 is ""); then one pass for the
    # longest: two passes of len() were a third of this function on a province ballot.
    if answers and ("" in answers or max(map(len, answers)) > 64):
        return None
    if comments and not (
        min(map(len, comments)) >= 1
        and max(map(len, comments)) <= 64
        and max(map(len, comments.values())) <= MAX_COMMENT
    ):
        return None
    try:
        submitted_at = _SUBMITTED_AT.deserialize(at, "submitted_at", data)
    except ValidationError:
        return None
    return CanonicalBallot(rid, token, submitted_at, answers, dict(comments))


def load_ballot(data: Any, where: str, text: str) -> RawRecord:
    """Validate one decoded record; a bad one becomes a RawRecord with the error named."""
    if type(data) is dict and (ballot := _well_formed(data)) is not None:
        return RawRecord(where, text, ballot=ballot)
    return validate_fully(data, where, text)


def validate_fully(data: Any, where: str, text: str) -> RawRecord:
    """``load_ballot`` without its shortcut: every check in turn, the first failing one named
    (tests hold the shortcut to this)."""
    if not isinstance(data, dict):
        return RawRecord(where, text, error=f"{where}: expected a JSON object")
    # The platform's id, when the record has a usable one, keys even a rejected record, so the
    # same bad record sent again is recognised; an id no column can hold is no id.
    rid = data.get("id") if isinstance(data.get("id"), str) and data.get("id") else None
    if rid is not None and (len(rid) > 200 or unstorable_text(rid) is not None):
        rid = None
    if depth_of(data, MAX_DEPTH) > MAX_DEPTH:
        error = f"{where}: nested more than {MAX_DEPTH} levels deep"
        return RawRecord(where, text, error=error, response_id=rid)
    bad = unstorable_text(data)
    if bad is not None:
        return RawRecord(where, text, error=f"{where}: {bad}", response_id=rid)
    try:
        loaded = CanonicalBallotSchema().load(data)
    except ValidationError as exc:
        return RawRecord(
            where, text, error=f"{where}: " + "; ".join(_flatten(exc.messages)), response_id=rid
        )
    return RawRecord(where, text, ballot=CanonicalBallot(**loaded))


def _json_string(text: str) -> str:
    """A JSON string literal that is always valid UTF-8: Chinese as is, a lone surrogate
    escaped (``\\ud800``), so the verbatim copy of even a bad record can be stored."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(text)
    return json.dumps(text, ensure_ascii=False)


def canonical_text(value: Any) -> str:
    """Deterministic JSON of a decoded record (sorted keys, Decimals as written), to hash and keep.

    A record nested deeper than MAX_DEPTH is not a ballot and is not written out level by level
    (that recursion is what a hostile 600-deep item would exhaust): a short marker stands in for
    it, and the delivery's raw body, kept whole in the inbox, still holds every byte."""
    if depth_of(value, MAX_DEPTH) > MAX_DEPTH:
        return json.dumps({"nested_deeper_than": MAX_DEPTH})
    return _canonical(value)


def _canonical(value: Any) -> str:
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{_json_string(str(k))}:{_canonical(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return _json_string(value)
    return json.dumps(value)
