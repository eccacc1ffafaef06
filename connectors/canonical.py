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

AnswerValue = str | Decimal | int
Answers = dict[str, AnswerValue | dict[str, AnswerValue]]


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | Decimal | int) and not isinstance(value, bool)


def _check_answers(answers: dict) -> None:
    """Raise (marshmallow 4 validators must raise) when an answer has the wrong shape."""
    if len(answers) > MAX_UNITS:
        raise ValidationError(f"more than {MAX_UNITS} units")
    for unit, value in answers.items():
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
    answers = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=64)),
        values=fields.Raw(allow_none=False),
        required=True,
        validate=_check_answers,
    )
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


def load_ballot(data: Any, where: str, text: str) -> RawRecord:
    """Validate one decoded record; a bad one becomes a RawRecord with the error named."""
    if not isinstance(data, dict):
        return RawRecord(where, text, error=f"{where}: expected a JSON object")
    try:
        loaded = CanonicalBallotSchema().load(data)
    except ValidationError as exc:
        rid = data.get("id") if isinstance(data.get("id"), str) and data.get("id") else None
        return RawRecord(
            where, text, error=f"{where}: " + "; ".join(_flatten(exc.messages)), response_id=rid
        )
    return RawRecord(where, text, ballot=CanonicalBallot(**loaded))


def canonical_text(value: Any) -> str:
    """Deterministic JSON of a decoded record (sorted keys, Decimals as written) for hashing."""
    if isinstance(value, dict):
        items = sorted(value.items())
        return (
            "{"
            + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{canonical_text(v)}" for k, v in items)
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(canonical_text(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
