"""One 腾讯问卷 answer as a record: rows and options by their titles, the token, the time.

An answer (from the list, or re-read by id) is ``{answer_id, openid, third_party_user,
started_at, ended_at, answer: [pages]}``; a page is ``{id, questions: [...]}``; a matrix question
has ``groups``, one per row, ``{id, text, options: [{id, text, checked}]}``. The row's ``text``
is its title (a unit's name or code), a chosen option's ``text`` its label. Only the chosen
texts travel, never the form, so the answer is read against the source's :class:`Titles` (built
at ``source add``) and whatever does not fit is named: the record is then a rejected ballot
with the reason, never a ballot with an answer quietly left out.

``ended_at`` is Beijing time without a zone (``2020-02-09 12:01:39``) and is read in
Asia/Shanghai; a time that carries a zone keeps it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from connectors.canonical import MAX_COMMENT, RawRecord, load_ballot
from connectors.titles import Titles

BEIJING = ZoneInfo("Asia/Shanghai")
# Where a custom token field may sit: the documentation does not show custom fields in an
# answer, so these reasonable places are read, in order, and a miss names the field.
_CUSTOM_PLACES = ("custom_fields", "custom", "extra", "params", "query")


def answer_text(item: Any) -> str:
    """The answer as kept with its record: JSON in the platform's own order, Chinese as written."""
    try:
        return json.dumps(item, ensure_ascii=False, default=str)
    except (RecursionError, ValueError):
        return json.dumps({"unreadable": "nested too deeply"})


def read_time(value: Any) -> datetime | None:
    """A platform time: text without a zone is Beijing time; Unix seconds are UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=BEIJING)


def text_of(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None


def read_token(item: dict[str, Any], field: str) -> str | None:
    """The seat token where the source says answers carry it (``openid``, ``third_party_user``
    (its ``openid``), ``third_party_user.KEY``, or a custom field's name)."""
    if field == "openid":
        return text_of(item.get("openid"))
    head, _, key = field.partition(".")
    if head == "third_party_user":
        user = item.get("third_party_user")
        return text_of(user.get(key or "openid")) if isinstance(user, dict) else None
    found = text_of(item.get(field))
    for place in _CUSTOM_PLACES:
        if found is not None:
            break
        holder = item.get(place)
        if isinstance(holder, dict):
            found = text_of(holder.get(field))
        elif isinstance(holder, list):
            for entry in holder:
                if isinstance(entry, dict) and field in (entry.get("key"), entry.get("name")):
                    found = text_of(entry.get("value"))
                    break
    return found


def _chosen(option: Any) -> bool:
    """An option counts unless it says it is not checked (``checked`` defaults to 1)."""
    if not isinstance(option, dict):
        return False
    checked = option.get("checked", 1)
    return checked not in (0, "0", False, None, "false")


def number_of(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def questions(item: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Every question of every page, in order."""
    pages = item.get("answer")
    for page in pages if isinstance(pages, list) else []:
        found = page.get("questions") if isinstance(page, dict) else None
        for question in found if isinstance(found, list) else []:
            if isinstance(question, dict):
                yield question


def rows_of(question: dict[str, Any]) -> list[dict[str, Any]]:
    groups = question.get("groups")
    return [g for g in groups if isinstance(g, dict)] if isinstance(groups, list) else []


def structure(
    items: Iterable[Any], only: frozenset[str] | None
) -> tuple[list[tuple[str | None, str]], list[str]]:
    """The rows (key, title) and option texts that answers show: the form as far as they reveal
    it, which ``source add`` checks (every listed option, chosen or not)."""
    rows: dict[tuple[str | None, str], None] = {}
    options: dict[str, None] = {}
    for item in items:
        for question in questions(item) if isinstance(item, dict) else ():
            if only is not None and str(question.get("id")) not in only:
                continue
            for row in rows_of(question):
                rows[(text_of(row.get("id")), str(row.get("text") or ""))] = None
                listed = row.get("options")
                for option in listed if isinstance(listed, list) else []:
                    # Chosen or not: an answer that lists every option shows the whole column.
                    if isinstance(option, dict) and (text := text_of(option.get("text"))):
                        options[text] = None
    return list(rows), list(options)


def _read_choice(
    options: Any, titles: Titles, where: str, problems: list[str]
) -> str | Decimal | None:
    picked = [o for o in options if _chosen(o)] if isinstance(options, list) else []
    texts = [t for o in picked if (t := text_of(o.get("text"))) is not None]
    if not texts:
        return None
    if len(texts) > 1:
        problems.append(f"{where}: {len(texts)} options chosen ({'、'.join(texts)})")
        return None
    value = titles.answer(texts[0])
    if value is None:
        value = number_of(texts[0])
    if value is None:
        problems.append(f"option {texts[0]!r} ({where}) is not on the scale")
    return value


def read_answers(
    item: dict[str, Any], titles: Titles, only: frozenset[str] | None
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """(answers by unit, comments by unit, problems) of one answer."""
    answers: dict[str, Any] = {}
    comments: dict[str, str] = {}
    problems: list[str] = []

    def put(unit: str, value: str | Decimal | None, where: str) -> None:
        if value is None:
            return
        if unit in answers:
            problems.append(f"unit {unit} is answered twice ({where} again)")
            return
        answers[unit] = value

    for question in questions(item):
        qid = text_of(question.get("id"))
        rows = rows_of(question)
        if rows and (only is None or qid in only):
            for row in rows:
                title = str(row.get("text") or "")
                key = text_of(row.get("id"))
                unit = titles.unit(key, title)
                where = f"row {title!r}" + (f" ({key})" if key else "")
                if unit is None:
                    problems.append(f"{where} is not a unit of the round")
                    continue
                put(unit, _read_choice(row.get("options"), titles, where, problems), where)
            continue
        if qid is None:
            continue
        unit = titles.unit(key=qid)
        if unit is not None and not rows:  # a single-choice question the map file gives a unit
            put(unit, _read_choice(question.get("options"), titles, f"question {qid}", problems),
                f"question {qid}")  # fmt: skip
            continue
        target = titles.comment_unit(qid)
        text = question.get("text")
        if target is not None and isinstance(text, str) and text.strip():
            text = text.strip()
            # A long comment is cut, as every connector does; the record keeps all of it.
            comments[target] = text if len(text) <= MAX_COMMENT else text[: MAX_COMMENT - 1] + "…"
    return answers, comments, problems


def answer_record(
    item: Any,
    source: str,
    titles: Titles,
    token_field: str = "openid",
    only: frozenset[str] | None = None,
) -> RawRecord:
    """One answer as a record: a ballot, or a rejected record naming everything that is wrong."""
    text = answer_text(item)
    if not isinstance(item, dict):
        return RawRecord(f"{source} answer", text, error=f"{source}: an answer is not an object")
    answer_id = text_of(item.get("answer_id"))
    where = f"{source} answer {answer_id or '(no answer_id)'}"
    problems = [] if answer_id else ["no answer_id"]
    token = read_token(item, token_field)
    if token is None:
        problems.append(f"no seat token in {token_field} (the link must carry it)")
    submitted = read_time(item.get("ended_at"))
    if submitted is None:
        problems.append(f"ended_at {item.get('ended_at')!r} is not a time")
    answers, comments, found = read_answers(item, titles, only)
    problems += found
    if not isinstance(item.get("answer"), list):
        problems.append("no answer pages (answer[])")
    if problems:
        return RawRecord(
            where, text, error=f"{where}: {'; '.join(problems)}", response_id=answer_id
        )
    assert submitted is not None
    ballot = {
        "id": answer_id,
        "token": token,
        "submitted_at": submitted.isoformat(),
        "answers": answers,
        "comments": comments,
    }
    return load_ballot(ballot, where, text)
