"""A source's mapping: platform columns -> (unit, criterion), platform answers -> the scale.

Built once, when the source is added, from the survey's own structure (never from guessed column
names), stored with the source as JSON, and applied to every response. Applying it is a plain
dictionary walk, because a province-scale export is ten thousand responses of a hundred columns.

The scale file (``--scale FILE``, TOML) says how a platform's answer codes become answers on the
round's scale::

    # Answer code = a label of the scale (or of no_vote) or a number
    [answers]
    A1 = "满意"
    A2 = "基本满意"
    A3 = "不满意"
    A4 = "不了解"

    # Numeric answers (1-10 arrays, numbers arrays) times this factor (7 -> 70)
    factor = 10

    # Columns of a two-axis array: column code = criterion name of the rules
    [criteria]
    QUAL = "工作作风"

Numbers a mapping produces are canonical numeric answers: the rules read them like the numbers of
a canonical ballot file (``numeric_range``, ``numeric_factor``), i.e. as points by default.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from connectors.base import ConfigError
from connectors.canonical import MAX_COMMENT

# LimeSurvey (and most platforms) allow only letters and digits in sub-question codes, so the
# unit "FY-LAT" can only appear there as "FYLAT": codes are also matched with everything but
# letters and digits removed, ignoring case, when that match is unique.
_NOT_ALNUM = re.compile(r"[^0-9a-z]")
_TAG = re.compile(r"<[^>]*>")


def plain_code(code: str) -> str:
    return _NOT_ALNUM.sub("", code.lower())


def plain_label(text: str) -> str:
    """An answer option's label without HTML markup or surrounding space."""
    return _TAG.sub("", text or "").replace("&nbsp;", " ").strip()


@dataclass(frozen=True)
class Scale:
    """A loaded scale file: answer code -> label or number, a numeric factor, column criteria."""

    answers: dict[str, str | Decimal] = field(default_factory=dict)
    factor: Decimal | None = None
    criteria: dict[str, str] = field(default_factory=dict)
    origin: str = "scale file"


def config_number(value: Any, where: str) -> Decimal:
    """A number from a TOML file, exact; ``where`` names the key in the refusal."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise ConfigError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite():
        raise ConfigError(f"{where}: {value!r} is not a finite number")
    return number


def load_scale(path: Path) -> Scale:
    """Read a scale file; unknown keys and wrong types are refused by name."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return parse_scale(text, str(path))


def parse_scale(text: str, path: str = "scale file") -> Scale:
    """A scale file's text (``--scale`` on the command line, ``scale`` in the API) as a Scale;
    ``path`` names it in errors."""
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    unknown = sorted(set(data) - {"answers", "factor", "criteria"})
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} (known: answers, factor, criteria)")
    answers: dict[str, str | Decimal] = {}
    raw_answers = data.get("answers", {})
    if not isinstance(raw_answers, dict):
        raise ConfigError(f"{path}: [answers] must be a table of code = label or number")
    for code, value in raw_answers.items():
        where = f"{path} [answers].{code}"
        if isinstance(value, str):
            if not value.strip():
                raise ConfigError(f"{where}: empty label")
            answers[str(code)] = value.strip()
        else:
            answers[str(code)] = config_number(value, where)
    factor = config_number(data["factor"], f"{path} factor") if "factor" in data else None
    if factor is not None and factor <= 0:
        raise ConfigError(f"{path} factor: must be positive, got {factor}")
    raw_criteria = data.get("criteria", {})
    if not isinstance(raw_criteria, dict) or not all(
        isinstance(v, str) and v.strip() for v in raw_criteria.values()
    ):
        raise ConfigError(f"{path}: [criteria] must be a table of column code = criterion name")
    criteria = {str(k): v.strip() for k, v in raw_criteria.items()}
    return Scale(answers, factor, criteria, path)


def match_units(codes: Iterable[str], units: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Match platform codes to unit codes: exactly, else by letters and digits (unique only).

    Returns (code -> unit, codes that match no unit or more than one).
    """
    units = list(units)
    exact = set(units)
    by_plain: dict[str, list[str]] = {}
    for unit in units:
        by_plain.setdefault(plain_code(unit), []).append(unit)
    matched: dict[str, str] = {}
    unmatched: list[str] = []
    for code in codes:
        if code in exact:
            matched[code] = code
            continue
        candidates = by_plain.get(plain_code(code), [])
        if len(candidates) == 1:
            matched[code] = candidates[0]
        else:
            unmatched.append(code)
    return matched, unmatched


@dataclass(frozen=True)
class Column:
    """One platform column that carries an answer: its export key, unit and criterion."""

    key: str
    field: str  # the platform's own field id (e.g. a LimeSurvey SGQA name)
    unit: str
    criterion: str | None = None  # None: the unit's single answer


@dataclass(frozen=True)
class Mapping:
    """Everything needed to turn one response row into canonical answers and comments.

    ``answers`` maps an answer code to a label (str) or a number (Decimal); codes not listed are
    read as numbers when ``numeric``; ``factor`` multiplies every number read from the platform.
    """

    question: str
    qtype: str
    columns: tuple[Column, ...]
    answers: dict[str, str | Decimal] = field(default_factory=dict)
    numeric: bool = False
    factor: Decimal | None = None
    comments: tuple[Column, ...] = ()

    def value(self, raw: Any) -> str | Decimal | None:
        """The canonical answer for one cell; None when unanswered (NULL or empty string).

        A code or text the mapping cannot read is passed on as written, so the ballot is
        rejected with the value named rather than the answer silently dropped.
        """
        if raw is None:
            return None
        text = str(raw).strip()
        if not text:
            return None
        mapped = self.answers.get(text)
        if mapped is not None:
            return mapped
        if not self.numeric:
            return text
        try:
            number = Decimal(text)
        except InvalidOperation:
            return text
        if not number.is_finite():
            return text
        return number * self.factor if self.factor is not None else number

    def apply(self, row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """Canonical ``answers`` and ``comments`` of one response row."""
        answers: dict[str, Any] = {}
        for col in self.columns:
            value = self.value(row.get(col.key))
            if value is None:
                continue
            if col.criterion is None:
                answers[col.unit] = value
            else:
                answers.setdefault(col.unit, {})[col.criterion] = value
        comments: dict[str, str] = {}
        for col in self.comments:
            text = row.get(col.key)
            if isinstance(text, str) and text.strip():
                # A long comment is cut, not a reason to reject the ballot: the raw record
                # keeps every word.
                text = text.strip()
                if len(text) > MAX_COMMENT:
                    text = text[: MAX_COMMENT - 1] + "…"
                comments[col.unit] = text
        return answers, comments

    def summary(self) -> dict[str, Any]:
        """What ``source add`` reports of a mapping (``--json`` and the API)."""
        return {
            "question": self.question,
            "type": self.qtype,
            "units": len({c.unit for c in self.columns}),
            "criteria": sorted({c.criterion for c in self.columns if c.criterion}),
            "answers": {k: str(v) for k, v in self.answers.items()},
            "numeric": self.numeric,
            "factor": None if self.factor is None else str(self.factor),
            "comments": len(self.comments),
        }

    def describe(self) -> list[str]:
        """The same, in lines for people."""
        s = self.summary()
        criteria = "、".join(s["criteria"]) or "one answer per unit"
        lines = [f"question {self.question} (type {self.qtype}): {s['units']} units, {criteria}"]
        if self.answers:
            lines.append("answers: " + ", ".join(f"{k} → {v}" for k, v in s["answers"].items()))
        if self.numeric:
            lines.append(f"numbers read as points{f' × {self.factor}' if self.factor else ''}")
        if self.comments:
            lines.append(f"comments: {len(self.comments)} units")
        return lines

    def missing_keys(self, row: dict[str, Any]) -> list[str]:
        """Mapped columns absent from a row: the survey changed since the source was added."""
        return [c.key for c in (*self.columns, *self.comments) if c.key not in row]

    def to_json(self) -> dict[str, Any]:
        def col(c: Column) -> list:
            return [c.key, c.field, c.unit, c.criterion]

        return {
            "version": 1,
            "question": self.question,
            "qtype": self.qtype,
            "columns": [col(c) for c in self.columns],
            "answers": {
                k: {"number": str(v)} if isinstance(v, Decimal) else {"label": v}
                for k, v in self.answers.items()
            },
            "numeric": self.numeric,
            "factor": None if self.factor is None else str(self.factor),
            "comments": [col(c) for c in self.comments],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Mapping:
        if not isinstance(data, dict) or data.get("version") != 1:
            raise ConfigError("the stored mapping is not a version 1 mapping: add the source again")
        return cls(
            question=data["question"],
            qtype=data["qtype"],
            columns=tuple(Column(*c) for c in data["columns"]),
            answers={
                k: Decimal(v["number"]) if "number" in v else v["label"]
                for k, v in data["answers"].items()
            },
            numeric=bool(data["numeric"]),
            factor=None if data["factor"] is None else Decimal(data["factor"]),
            comments=tuple(Column(*c) for c in data.get("comments", [])),
        )
