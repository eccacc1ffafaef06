"""A 问卷星 survey's structure, and the mapping from its keys and positions to units and labels.

问卷星 pushes only keys and positions: a matrix row is ``q<N>_<R>`` and its value is the chosen
column's 1-based position, never a title or an option text. The texts are in the survey's
structure (the JSON of ``IllustrateApi.ashx?activityID=<vid>&JSON=1``): ``q5`` the stem, ``q5_1``
row 1's title, ``q5_1#1`` row 1's first option. ``source add --structure FILE`` reads that JSON
and matches rows and options by their titles (:mod:`connectors.titles`); ``--map FILE`` says the
rest, including row keys and positions directly when there is no structure to read.

The mapping is built once, refused (naming every row that is no unit and every option off the
scale) when the survey cannot work, and stored as JSON; reading a ballot is then lookups.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connectors.base import ConfigError, SetupContext
from connectors.titles import TitleMap, Titles, normal_title

# ``q5`` (a question) or ``q5_1`` (row 1 of question 5); ``q5_1#2`` / ``q1#2``: an option text.
KEY = re.compile(r"^q(\d+)(?:_(\d+))?$")
OPTION = re.compile(r"^(q\d+(?:_\d+)?)#(\d+)$")


def question_of(key: str) -> str:
    """``q5_1`` -> ``q5``; ``q5`` -> ``q5``."""
    return key.split("_", 1)[0]


@dataclass(frozen=True)
class Structure:
    """What a structure file says: stems, row titles, option texts by position, and the keys it
    holds that are none of these (reported, never guessed at)."""

    stems: dict[str, str]
    rows: dict[str, str]
    options: dict[str, dict[str, str]]
    unread: list[str] = field(default_factory=list)


def parse_structure(text: str, where: str = "structure file") -> Structure:
    """A structure file's text: a JSON object of key -> text, as is or under ``data`` (the
    OpenAPI envelope). Any other shape is refused, saying what was found."""
    try:
        data = json.loads(text.removeprefix("\ufeff"))
    except ValueError as exc:
        raise ConfigError(f"{where}: not JSON ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        data = data["data"]
    if not isinstance(data, dict) or not any(KEY.match(str(k)) for k in data):
        found = type(data).__name__ if not isinstance(data, dict) else ", ".join(list(data)[:5])
        raise ConfigError(
            f"{where}: expected an object of q<N>, q<N>_<row> and q<N>_<row>#<option> keys "
            f"(found: {found or 'nothing'})"
        )
    stems: dict[str, str] = {}
    rows: dict[str, str] = {}
    options: dict[str, dict[str, str]] = {}
    unread: list[str] = []
    for raw_key, value in data.items():
        key = str(raw_key)
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            unread.append(key)
            continue
        text_value = str(value)
        if (match := OPTION.match(key)) is not None:
            options.setdefault(match.group(1), {})[match.group(2)] = text_value
        elif (match := KEY.match(key)) is not None:
            (rows if match.group(2) else stems)[key] = text_value
        else:
            unread.append(key)
    return Structure(stems, rows, options, unread)


@dataclass(frozen=True)
class SurveyMap:
    """A source's mapping. ``rows``: push key -> unit; ``options``: push key -> position ->
    label (str) or number (Decimal); ``comments``: push key -> unit; ``ignored``: questions the
    structure shows that are not about units; ``row_titles``: push key -> normalised title (an
    export names a row ``第N题(title)``); ``titles`` for everything matched by text."""

    rows: dict[str, str]
    options: dict[str, dict[str, str | Decimal]]
    comments: dict[str, str]
    ignored: list[str]
    row_titles: dict[str, str]
    titles: Titles
    structured: bool

    def row_key(self, question: str, title: str) -> str | None:
        """The push key of an export's ``第N题(title)`` column, when the structure knows it."""
        wanted = normal_title(title)
        for key, known in self.row_titles.items():
            if known == wanted and question_of(key) == question:
                return key
        return None

    def unit(self, key: str | None, title: str | None) -> str | None:
        """The unit a row or question stands for, by key first, then by title."""
        if key is not None and key in self.rows:
            return self.rows[key]
        return self.titles.unit(key, title)

    def comment_unit(self, key: str | None, title: str | None) -> str | None:
        if key is not None and key in self.comments:
            return self.comments[key]
        return self.titles.comment_unit(key, title)

    def answer(self, key: str | None, value: str) -> str | Decimal | None:
        """A cell's label: the key's option at this position, else the text (or position) as
        the map file or the scale says; None when nothing says."""
        if key is not None:
            found = self.options.get(key, {}).get(value)
            if found is None:
                found = self.options.get(question_of(key), {}).get(value)
            if found is not None:
                return found
        return self.titles.answer(value)

    def to_json(self) -> dict[str, Any]:
        def out(value: str | Decimal) -> Any:
            return {"number": str(value)} if isinstance(value, Decimal) else value

        return {
            "version": 1,
            "rows": dict(self.rows),
            "options": {k: {p: out(v) for p, v in o.items()} for k, o in self.options.items()},
            "comments": dict(self.comments),
            "ignored": list(self.ignored),
            "row_titles": dict(self.row_titles),
            "titles": self.titles.to_json(),
            "structured": self.structured,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SurveyMap:
        if not isinstance(data, Mapping) or data.get("version") != 1 or "rows" not in data:
            raise ConfigError("the stored 问卷星 mapping is unreadable: add the source again")

        def back(value: Any) -> str | Decimal:
            return Decimal(value["number"]) if isinstance(value, dict) else str(value)

        return cls(
            rows=dict(data["rows"]),
            options={k: {p: back(v) for p, v in o.items()} for k, o in data["options"].items()},
            comments=dict(data["comments"]),
            ignored=list(data["ignored"]),
            row_titles=dict(data["row_titles"]),
            titles=Titles.from_json(data["titles"]),
            structured=bool(data["structured"]),
        )


def build_map(
    context: SetupContext, given: TitleMap | None, structure: Structure | None
) -> tuple[SurveyMap, list[str]]:
    """The mapping and notes for people; ConfigError naming every row that is no unit and every
    option off the scale (with a structure), or saying what the map file must add (without)."""
    given = given or TitleMap()
    titles = Titles.build(context, given)
    comments = {k: v for k, v in given.comments.items() if KEY.match(k)}
    if structure is None:
        return _from_map_only(titles, given, comments)
    notes = [f"structure keys not read: {', '.join(structure.unread[:10])}"] * bool(
        structure.unread
    )
    problems: list[str] = []
    rows: dict[str, str] = {}
    options: dict[str, dict[str, str | Decimal]] = {}
    row_titles: dict[str, str] = {}
    ignored: list[str] = []
    off_scale: set[str] = set()
    for question, members in _questions(structure).items():
        if question in comments:
            continue
        found = {key: titles.unit(key, title) for key, title in members}
        if not any(found.values()):
            ignored.append(question)
            stem = structure.stems.get(question, "")
            notes.append(f"{question} {stem!r}: no row is a unit of the round; not read")
            continue
        for key, title in members:
            unit = found[key]
            if unit is None:
                problems.append(f"row {title!r} ({key}) is not a unit of the round")
                continue
            rows[key], row_titles[key] = unit, normal_title(title)
            options[key] = {}
            for position, text in structure.options.get(key, {}).items():
                label = titles.answer(text)
                if label is None:
                    label = titles.answer(position)
                if label is None and text not in off_scale:
                    off_scale.add(text)
                    problems.append(f"option {text!r} ({key}#{position}) is not on the scale")
                elif label is not None:
                    options[key][position] = label
    problems.extend(_twice(rows))
    if problems:
        raise ConfigError("the survey does not fit the round: " + "; ".join(_once(problems)))
    missing = [u for u in context.units if u not in set(rows.values())]
    if missing:
        notes.append(f"{len(missing)} units of the round are in no row: {', '.join(missing[:10])}")
    mapped = SurveyMap(rows, options, comments, ignored, row_titles, titles, True)
    return mapped, notes


def _questions(structure: Structure) -> dict[str, list[tuple[str, str]]]:
    """Questions that ask for a choice: matrix questions by their rows with options, and single
    questions with options of their own, each as (key, title) members."""
    found: dict[str, list[tuple[str, str]]] = {}
    for key, title in structure.rows.items():
        if key in structure.options:
            found.setdefault(question_of(key), []).append((key, title))
    for key, stem in structure.stems.items():
        if key in structure.options and key not in found:
            found[key] = [(key, stem)]
    return dict(sorted(found.items(), key=lambda item: int(item[0][1:])))


def _from_map_only(
    titles: Titles, given: TitleMap, comments: dict[str, str]
) -> tuple[SurveyMap, list[str]]:
    """No structure: the map file must name the row keys pushes carry and what positions mean,
    since a push has neither titles nor option texts."""
    rows = {k: v for k, v in given.units.items() if KEY.match(k)}
    positions = [k for k in given.answers if k.isdigit()]
    lacking = []
    if not rows:
        lacking.append('[units] by row key (e.g. "q5_1" = "FY-LAT")')
    if not positions:
        lacking.append('[answers] by position (e.g. "1" = "满意")')
    if lacking:
        raise ConfigError(
            "pushes carry row keys and option positions, not titles: give --structure FILE "
            "(the survey's structure JSON), or a --map FILE with " + " and ".join(lacking)
        )
    problems = _twice(rows)
    if problems:
        raise ConfigError("the map file does not fit: " + "; ".join(problems))
    notes = ["no structure given: rows and options are checked on each ballot, not now"]
    return SurveyMap(rows, {}, comments, [], {}, titles, False), notes


def _twice(rows: Mapping[str, str]) -> list[str]:
    """Two rows standing for one unit: one of them is a mistake the office must settle."""
    seen: dict[str, str] = {}
    problems = []
    for key, unit in rows.items():
        if unit in seen:
            problems.append(f"rows {seen[unit]} and {key} are both unit {unit}")
        seen.setdefault(unit, key)
    return problems


def _once(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
