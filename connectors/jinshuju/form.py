"""A 金数据 form's structure and the source's mapping built from it.

The office builds the form: one or more 矩阵单选 questions whose rows (statements) are the units,
titled with a unit's name or code, and whose columns (choices) are the scale's labels; optionally
text questions that comment on a unit (named in the map file's ``[comments]``). The form schema
(``GET /api/v1/forms/{form}``) lists each field as ``{"field_N": {label, type, …}}``; a 矩阵单选
is type ``likert`` with ``statements`` and ``choices``, each ``[{name, value}]``, ``value``
being the field's API code for that row or column.

Entries normally carry texts, but the newer 金数据 tools write API codes, and the push and read
formats were not all verified (docs/platforms/jinshuju.md), so the mapping keeps each matrix's
code -> text tables and an entry's code is translated before it is matched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.base import ConfigError, SetupContext
from connectors.titles import TitleMap, Titles, normal_title

MATRIX_TYPES = frozenset({"likert", "matrix_radio", "matrix_single_choice"})
TEXT_TYPES = frozenset({"single_line_text", "paragraph_text", "multi_line_text", "text"})
VERSION = 1


def schema_fields(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(API code, field) pairs in form order. The documented shape is a list of one-key
    objects; an object of code -> field, and a list of fields naming their ``api_code``, are
    read too."""
    raw = schema.get("fields")
    pairs: list[tuple[str, dict[str, Any]]] = []
    items = list(raw.items()) if isinstance(raw, dict) else None
    if items is None and isinstance(raw, list):
        items = []
        for item in raw:
            if not isinstance(item, dict):
                continue
            code = item.get("api_code") or item.get("code")
            if isinstance(code, str):
                items.append((code, item))
            else:
                items.extend(item.items())
    for code, spec in items or []:
        if isinstance(spec, dict):
            pairs.append((str(code), spec))
    return pairs


def _options(spec: dict[str, Any], key: str) -> list[tuple[str, str]]:
    """(code, text) of a matrix's statements or choices; a bare string is its own code."""
    out = []
    for item in spec.get(key) or []:
        if isinstance(item, dict):
            text = str(item.get("name") or item.get("label") or "")
            code = str(item.get("value") or item.get("api_code") or text)
            out.append((code, text))
        elif isinstance(item, str):
            out.append((item, item))
    return out


@dataclass(frozen=True)
class Matrix:
    """One 矩阵单选 question: its label, and its rows' and columns' code -> text."""

    code: str
    label: str
    statements: dict[str, str]
    choices: dict[str, str]

    def __post_init__(self) -> None:
        # text -> code, built once: an entry names ~100 rows, each looked up by its text.
        object.__setattr__(self, "_rows", {t: c for c, t in self.statements.items()})
        object.__setattr__(self, "_columns", {t: c for c, t in self.choices.items()})

    def statement(self, value: str) -> tuple[str, str]:
        """An entry's row as (API code, title), whichever of the two the entry wrote (a text
        first: the documented format), so a map file may name either."""
        return _both(self._rows, self.statements, value)  # type: ignore[attr-defined]

    def choice(self, value: str) -> tuple[str, str]:
        return _both(self._columns, self.choices, value)  # type: ignore[attr-defined]


def _both(by_text: dict[str, str], by_code: dict[str, str], value: str) -> tuple[str, str]:
    if value in by_text:
        return by_text[value], value
    if value in by_code:
        return value, by_code[value]
    return value, value  # not in the schema (the form changed): matched by itself


@dataclass(frozen=True)
class FormMap:
    """What a source stores: the matrices, the comment fields, and the title lookups."""

    form: str
    matrices: tuple[Matrix, ...]
    titles: Titles
    comments: dict[str, str] = field(default_factory=dict)  # field code -> unit

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "form": self.form,
            "matrices": [
                {"code": m.code, "label": m.label, "statements": m.statements, "choices": m.choices}
                for m in self.matrices
            ],
            "titles": self.titles.to_json(),
            "comments": dict(self.comments),
        }

    @classmethod
    def from_json(cls, data: Any) -> FormMap:
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ConfigError("the stored 金数据 mapping is not version 1: add the source again")
        matrices = tuple(
            Matrix(m["code"], m["label"], dict(m["statements"]), dict(m["choices"]))
            for m in data["matrices"]
        )
        return cls(data["form"], matrices, Titles.from_json(data["titles"]), dict(data["comments"]))

    def units(self) -> set[str]:
        """The units that have a row on the form."""
        found = {self.titles.unit(k, t) for m in self.matrices for k, t in m.statements.items()}
        return {u for u in found if u is not None}

    def describe(self) -> list[str]:
        lines = [f"form {self.form}: {len(self.units())} units in {len(self.matrices)} 矩阵单选"]
        lines += [
            f"{m.code} 「{m.label}」: {len(m.statements)} rows, {'、'.join(m.choices.values())}"
            for m in self.matrices
        ]
        if self.comments:
            lines.append(f"comments: {len(self.comments)} text fields")
        return lines


def _problems(titles: Titles, matrix: Matrix) -> list[str]:
    """Rows of a matrix that are no unit and columns off the scale, named (with the field)."""
    found = titles.problems(
        matrix.statements.items(),
        [t for c, t in matrix.choices.items() if titles.answer(c) is None],
    )
    return [f"{matrix.code} 「{matrix.label}」 {p}" for p in found]


def build_form_map(
    form: str, schema: dict[str, Any], context: SetupContext, given: TitleMap | None
) -> tuple[FormMap, list[str]]:
    """The mapping of a form to the round, and notes for people; refused (ConfigError, naming
    every row and option at fault) when a row is no unit or an option is off the scale."""
    if not context.units:
        raise ConfigError("there are no units yet (pingyi import units FILE first)")
    titles = Titles.build(context, given)
    fields_ = schema_fields(schema)
    matrices, notes, problems = [], [], []
    for code, spec in fields_:
        kind = str(spec.get("type") or "")
        label = str(spec.get("label") or code)
        if kind in MATRIX_TYPES or (spec.get("statements") and spec.get("choices")):
            matrix = Matrix(
                code, label, dict(_options(spec, "statements")), dict(_options(spec, "choices"))
            )
            matrices.append(matrix)
            problems += _problems(titles, matrix)
        elif spec.get("statements"):
            notes.append(
                f"{code} 「{label}」 is a matrix of type {kind or '?'}, not 矩阵单选: not read"
            )
    if not matrices:
        raise ConfigError(
            f"form {form} has no 矩阵单选 question: build one whose rows are the units "
            "(docs/platforms/jinshuju.md)"
        )
    seen: dict[str, str] = {}
    for m in matrices:
        for key, title in m.statements.items():
            unit = titles.unit(key, title)
            if unit is None:
                continue
            if unit in seen:
                problems.append(f"rows {seen[unit]!r} and {title!r} are both unit {unit}")
            seen[unit] = title
    comments = _comment_fields(titles, fields_, given, problems)
    if problems:
        raise ConfigError(f"form {form} does not fit the round: " + "; ".join(problems))
    missing = [u for u in context.units if u not in seen]
    if missing:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        notes.append(f"{len(missing)} units of the round have no row on the form: {shown}")
    return FormMap(form, tuple(matrices), titles, comments), notes


def _comment_fields(
    titles: Titles,
    fields_: Iterable[tuple[str, dict[str, Any]]],
    given: TitleMap | None,
    problems: list[str],
) -> dict[str, str]:
    """Field code -> unit for every ``[comments]`` key of the map file; a key that is no field
    of the form (by code or label) is a problem, named."""
    by_key: dict[str, str] = {}
    for code, spec in fields_:
        by_key[code] = code
        by_key.setdefault(normal_title(spec.get("label") or ""), code)
    comments: dict[str, str] = {}
    for key in given.comments if given else {}:
        code = by_key.get(key) or by_key.get(normal_title(key))
        unit = titles.comment_unit(key, key)
        if code is None:
            problems.append(f"map file [comments] {key!r} is no field of the form")
        elif unit is not None:
            comments[code] = unit
    return comments
