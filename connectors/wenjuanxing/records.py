"""One 问卷星 answer, however it came (push, export row, poll), as one record.

Every way in reduces an answer to the same parts: its id (the answer's sequence number in the
survey, see docs/platforms/wenjuanxing.md), the ``sojumpparm`` token, the submission time, and
cells of (question, key, title, value). This module turns those into a canonical ballot or a
rejected record that names every row, option or field it could not read; nothing is dropped and
nothing is guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote
from zoneinfo import ZoneInfo

from connectors.canonical import MAX_COMMENT, RawRecord, load_ballot
from connectors.wenjuanxing.survey import SurveyMap

# 问卷星 writes times without a zone; the platform runs on Beijing time, its only sensible reading.
BEIJING = ZoneInfo("Asia/Shanghai")
_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")
_WHOLE = re.compile(r"^\d+(?:\.0+)?$")


def beijing_time(value: Any) -> str:
    """An ISO 8601 time with its zone; a time without one is read as Beijing time. ValueError
    (naming the value) when it is no time 问卷星 writes."""
    if isinstance(value, datetime):
        when = value
    else:
        text = str(value or "").strip()
        if not text:
            raise ValueError("no submission time")
        when = None
        for fmt in _FORMATS:
            try:
                when = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if when is None:
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"submission time {text!r} is not a time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=BEIJING)
    return when.isoformat()


def sequence_id(value: Any) -> str | None:
    """An answer's sequence number as its id: digits, ``12`` for ``12``, ``12.0`` or ``"012"``
    (spreadsheets write numbers as floats); None when it is no whole number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):  # the common case, and the hot one: every answer cell of a poll
        return str(value) if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return str(int(value))
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and value >= 0 else None
    text = str(value).strip()
    return str(int(Decimal(text))) if _WHOLE.match(text) else None


def link_token(value: Any) -> str:
    """The ``sojumpparm`` a cell holds: the value itself, or taken out of a link or a
    ``sojumpparm=…`` pair when the export writes the source that way."""
    text = str(value or "").strip()
    if "sojumpparm=" in text:
        query = text.split("?", 1)[-1]
        found = parse_qs(query).get("sojumpparm")
        if found:
            return found[0].strip()
        return unquote(text.split("sojumpparm=", 1)[1].split("&", 1)[0]).strip()
    return text


@dataclass(frozen=True)
class Cell:
    """One answered cell: its question (``q5``), push key when known (``q5_1``), the title an
    export shows, the name to use in a message, and the value as written."""

    question: str
    key: str | None
    title: str | None
    name: str
    value: Any


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a position read from a spreadsheet: 2.0 is option 2
    return "" if value is None else str(value).strip()


def answer_record(
    where: str,
    text: str,
    response_id: str | None,
    token: str,
    submitted: Any,
    cells: Sequence[Cell],
    survey: SurveyMap,
) -> RawRecord:
    """A ballot, or a rejected record naming every problem (its id kept so a corrected copy of
    the same answer replaces it rather than adding a second one)."""
    problems: list[str] = []
    if response_id is None:
        problems.append("no answer sequence number (index / 序号)")
    if not token:
        problems.append("no sojumpparm: the evaluator did not come through a personal link")
    try:
        when = beijing_time(submitted)
    except ValueError as exc:
        problems.append(str(exc))
        when = ""
    answers: dict[str, str | Decimal] = {}
    comments: dict[str, str] = {}
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.question, []).append(cell)
    for question, group in groups.items():
        if question in survey.ignored:
            continue
        resolved = []
        for cell in group:
            comment = survey.comment_unit(cell.key, cell.title)
            unit = None if comment else survey.unit(cell.key, cell.title)
            resolved.append((cell, comment, unit))
        # A question with a unit among its rows is about units: each of its other rows is then a
        # mistake to name. A question with none is another question (who answers, a remark).
        asks_units = any(unit for _, _, unit in resolved)
        for cell, comment, unit in resolved:
            value = _text(cell.value)
            if not value:
                continue
            if comment is not None:
                comments[comment] = value if len(value) <= MAX_COMMENT else value[:1999] + "…"
            elif unit is None:
                if asks_units:
                    problems.append(f"{cell.name}: not a unit of the round")
            else:
                label = survey.answer(cell.key, value)
                if label is None:
                    problems.append(f"{cell.name}: answer {value!r} is not on the scale")
                else:
                    answers[unit] = label
    if problems:
        return RawRecord(where, text, error=f"{where}: " + "; ".join(problems),
                         response_id=response_id)  # fmt: skip
    data = {"id": response_id, "token": token, "submitted_at": when, "answers": answers}
    if comments:
        data["comments"] = comments
    return load_ballot(data, where, text)


def record_text(data: Any) -> str:
    """The verbatim copy kept with a record that was read from a table (an export row)."""
    return json.dumps(data, ensure_ascii=False, default=str)
