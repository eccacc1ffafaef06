"""A 金数据 entry as a record: a canonical ballot, or a rejected record saying why.

- ``id``: the entry's ``serial_number`` (its id within the form), the same whether the entry came
  by a poll or was re-read after a push, so the two reconcile in the store.
- ``token``: ``x_field_1``, the 扩展属性 the personal link sets (``?x_field_1=<token>``).
- ``submitted_at``: ``created_at``, which 金数据 writes in UTC (``…Z``). A time without a zone
  is refused, not guessed. ``updated_at`` is not used: an administrator's edit (a colour mark)
  moves it, and must not move a ballot out of the round's window.
- answers: each 矩阵单选 of the mapping, documented as ``[{"statement": row, "choice":
  column}]``; an object ``{row: column}`` (the write format, which the read format may mirror) is
  read too, and codes are translated through the form's schema. A row that is no unit rejects
  the ballot naming it; a column off the scale is passed on as written, so the round's judge
  rejects it naming the value. Anything else in the field is named as unreadable.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from connectors.canonical import MAX_COMMENT, RawRecord, canonical_text, load_ballot
from connectors.jinshuju.form import FormMap, Matrix

TOKEN_FIELD = "x_field_1"


def serial_of(entry: Any) -> int | None:
    """The entry's serial number, or None when it has no usable one."""
    value = entry.get("serial_number") if isinstance(entry, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value.strip().isdigit() and int(value) > 0:
        return int(value)
    return None


def _rows(value: Any) -> list[tuple[Any, Any]] | None:
    """(row, column) pairs of a 矩阵单选 answer, or None when it has another shape."""
    if isinstance(value, dict):
        return list(value.items())
    if not isinstance(value, list):
        return None
    pairs = []
    for item in value:
        if not isinstance(item, dict) or "statement" not in item:
            return None
        pairs.append((item.get("statement"), item.get("choice")))
    return pairs


def _matrix_answers(
    matrix: Matrix, value: Any, forms: FormMap, answers: dict[str, Any], problems: list[str]
) -> None:
    rows = _rows(value)
    if rows is None:
        problems.append(
            f"{matrix.code}: cannot read a 矩阵单选 answer of type {type(value).__name__}"
        )
        return
    for row, column in rows:
        if column is None or column == "" or column == []:
            continue  # the row was left unanswered
        if not isinstance(row, str) or not isinstance(column, str | int):
            problems.append(f"{matrix.code}: cannot read row {row!r} answered {column!r}")
            continue
        code, title = matrix.statement(row)
        unit = forms.titles.unit(code, title)
        if unit is None:
            problems.append(f"{matrix.code} row {title!r} is not a unit of the round")
            continue
        if unit in answers:
            problems.append(f"unit {unit} is answered twice ({matrix.code} row {title!r})")
            continue
        key, text = matrix.choice(str(column))
        mapped = forms.titles.answer(key)
        answers[unit] = mapped if mapped is not None else forms.titles.answer(text) or text


def _comment(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    return text if len(text) <= MAX_COMMENT else text[: MAX_COMMENT - 1] + "…"


def entry_text(entry: Any) -> str:
    """The entry's JSON to keep with its record, keys sorted. Written by the C encoder (a poll of
    a thousand 100-row entries spent half its time in the pure-Python ``canonical_text``), which
    is kept for what that cannot write as storable text: exact decimals, lone surrogates, an
    entry nested too deeply."""
    try:
        text = json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return canonical_text(entry)
    return text


def entry_record(entry: Any, forms: FormMap, where: str, text: str | None = None) -> RawRecord:
    """One entry (as the API reads it) as a record; ``text`` defaults to the entry's JSON."""
    text = entry_text(entry) if text is None else text
    serial = serial_of(entry)
    if serial is None:
        return RawRecord(where, text, error=f"{where}: the entry has no serial_number")
    rid = str(serial)
    where = f"{where}, entry {serial}"
    problems: list[str] = []
    token = entry.get(TOKEN_FIELD)
    if not isinstance(token, str) or not token.strip():
        problems.append(
            f"no seat token: {TOKEN_FIELD} is empty (the form was not opened through a "
            f"personal link ?{TOKEN_FIELD}=…)"
        )
    created = entry.get("created_at")
    if not _has_zone(created):
        problems.append(f"created_at {created!r} is not a time with a zone")
    answers: dict[str, Any] = {}
    for matrix in forms.matrices:
        value = entry.get(matrix.code)
        if value not in (None, "", [], {}):
            _matrix_answers(matrix, value, forms, answers, problems)
    if problems:
        return RawRecord(where, text, error=f"{where}: " + "; ".join(problems), response_id=rid)
    comments = {
        unit: note for code, unit in forms.comments.items() if (note := _comment(entry.get(code)))
    }
    ballot = {
        "id": rid,
        "token": token.strip(),
        "submitted_at": created.replace("Z", "+00:00"),
        "answers": answers,
        "comments": comments,
    }
    return load_ballot(ballot, where, text)


def _has_zone(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False
