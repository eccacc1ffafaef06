"""From a LimeSurvey survey's structure to a pingyi mapping, refused early when it cannot work.

The structure comes from ``get_fieldmap`` (keyed by SGQA name, with ``title``, ``aid``, ``type``
and the sub-question texts) and, for arrays with answer options, ``get_question_properties``.
SGQA names differ on every import of the same survey (limesurvey.md), so nothing here assumes one:
the export key of a column is built the way LimeSurvey builds its ``code`` headings,
``TITLE[aid]`` (a two-axis array's ``aid`` is ``ROW_COLUMN``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from connectors.base import ConfigError
from connectors.mapping import Column, Mapping, Scale, match_units, plain_label

# Question types whose rows (sub-questions) can be units, by what their answers are.
OPTIONS = {"F": "Array", "H": "Array by column"}
POINTS = {"A": ("Array (5 point choice)", 5), "B": ("Array (10 point choice)", 10)}
NUMBERS = {":": "Array (numbers)", "K": "Multiple numerical input"}
TEXTS = {"Q": "Multiple short text"}
SUPPORTED = "Array (F), Array by column (H), 5/10-point arrays (A, B), Array (numbers) (:), Multiple numerical input (K)"
SHOWN = 8  # how many offending codes an error names before "…"


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f", … ({len(items)} in all)" if len(items) > SHOWN else "")


def question_fields(fieldmap: dict[str, Any], title: str) -> list[dict[str, Any]]:
    """The fieldmap entries of question ``title``, in survey order; refused when absent."""
    entries = [v for v in fieldmap.values() if isinstance(v, dict) and v.get("title") == title]
    if not entries:
        titles = sorted({v.get("title") for v in fieldmap.values() if isinstance(v, dict)} - {""})
        raise ConfigError(
            f"question {title!r} is not in the survey (its question codes: {_names(titles)})"
        )
    return entries


def _row_column(entry: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(row code, column code, column label) of a fieldmap entry; the column only for ``:``."""
    aid = str(entry.get("aid") or "")
    if entry.get("type") != ":":
        return aid, None, None
    for option in entry.get("answerList") or []:
        code = str(option.get("code", ""))
        if code and aid.endswith("_" + code):
            return aid[: -len(code) - 1], code, plain_label(str(option.get("answer", "")))
    row, _, col = aid.rpartition("_")  # codes are letters and digits: one "_" joins them
    return row, col, plain_label(str(entry.get("subquestion2", ""))) or None


def _criterion(col: str, label: str | None, criteria: list[str], scale: Scale, title: str) -> str:
    if col in scale.criteria:
        name = scale.criteria[col]
        if name not in criteria:
            raise ConfigError(
                f"{scale.origin} [criteria].{col} = {name!r} is not a criterion of the rules "
                f"({'、'.join(criteria)})"
            )
        return name
    for candidate in (label, col):
        if candidate and candidate in criteria:
            return candidate
    raise ConfigError(
        f"question {title}: column {col!r} ({label or 'no label'}) is not a criterion of the "
        f"rules ({'、'.join(criteria)}); name it in the scale file, e.g. [criteria] {col} = "
        f'"{criteria[0]}"'
    )


def _check_targets(scale: Scale, labels: set[str]) -> None:
    bad = [
        f"{code} = {v!r}"
        for code, v in scale.answers.items()
        if isinstance(v, str) and v not in labels
    ]
    if bad:
        raise ConfigError(
            f"{scale.origin} [answers]: not a label of the rules' scale "
            f"({'、'.join(sorted(labels))}): {_names(bad)}"
        )


def _answer_map(
    qtype: str,
    title: str,
    scale: Scale,
    labels: set[str],
    answer_options: Callable[[], dict[str, str]],
    notes: list[str],
) -> tuple[dict[str, str | Decimal], bool]:
    """(answer code -> canonical answer, whether unmapped codes are read as numbers)."""
    _check_targets(scale, labels)
    if qtype in OPTIONS:
        options = answer_options()
        if not options:
            raise ConfigError(f"question {title} has no answer options")
        answers: dict[str, str | Decimal] = {}
        bad = []
        for code, label in options.items():
            if code in scale.answers:
                answers[code] = scale.answers[code]
            elif plain_label(label) in labels:
                answers[code] = plain_label(label)
            else:
                bad.append(f"{code} ({plain_label(label) or 'no label'})")
        if bad:
            raise ConfigError(
                f"question {title}: answer options that are not on the scale "
                f"({'、'.join(sorted(labels))}): {_names(bad)}; map them with --scale, e.g. "
                f'[answers] {bad[0].split()[0]} = "满意"'
            )
        unused = sorted(set(scale.answers) - set(options))
        if unused:
            notes.append(
                f"the scale file names answer codes question {title} lacks: {_names(unused)}"
            )
        return answers, False
    if qtype in POINTS:
        name, top = POINTS[qtype]
        codes = [str(i) for i in range(1, top + 1)]
        missing = [c for c in codes if c not in scale.answers]
        if missing and scale.factor is None:
            raise ConfigError(
                f"question {title} is an {name}: its answers 1–{top} need a scale file, e.g. "
                f"factor = {100 // top} (then 7 counts {7 * (100 // top)} points), or [answers] "
                "for each code"
            )
        return {c: scale.answers[c] for c in codes if c in scale.answers}, bool(missing)
    return dict(scale.answers), True  # numbers: read as points, times the factor if any


def build_mapping(
    fieldmap: dict[str, Any],
    question: str,
    units: Iterable[str],
    labels: Iterable[str],
    criteria: list[str],
    scale: Scale,
    answer_options: Callable[[str | int], dict[str, str]],
    comments: str | None = None,
) -> tuple[Mapping, list[str]]:
    """The mapping of ``question`` (rows = units) and optional per-unit ``comments``.

    ``labels`` are the rules' scale and no-vote labels, ``criteria`` the rules' criterion names;
    ``answer_options(qid)`` fetches a question's answer options (code -> label) when needed.
    Returns the mapping and notes worth showing the user (e.g. units the survey does not ask).
    """
    units = list(units)
    labels = set(labels)
    notes: list[str] = []
    entries = question_fields(fieldmap, question)
    qtype = str(entries[0].get("type"))
    if qtype not in OPTIONS and qtype not in POINTS and qtype not in NUMBERS:
        raise ConfigError(
            f"question {question} is of type {qtype!r}; pingyi reads a question whose rows are "
            f"units: {SUPPORTED}"
        )
    cells = [(e, *_row_column(e)) for e in entries]
    matched, unmatched = match_units(dict.fromkeys(row for _, row, _, _ in cells), units)
    if unmatched:
        texts = {
            row: plain_label(str(e.get("subquestion") or e.get("subquestion1") or ""))
            for e, row, _, _ in cells
        }
        raise ConfigError(
            f"question {question}: sub-question codes that are not unit codes: "
            + _names([f"{c} ({texts.get(c) or 'no text'})" for c in unmatched])
            + " — sub-question codes must be the units' codes (letters and digits only: FY-LAT as FYLAT)"
        )
    two_axis = any(col is not None for _, _, col, _ in cells)
    if not two_axis and len(criteria) != 1:
        raise ConfigError(
            f"question {question} gives one answer per unit, but the rules score "
            f"{len(criteria)} criteria ({'、'.join(criteria)}): use an Array (numbers) whose "
            "columns are the criteria"
        )
    columns = []
    for entry, row, col, col_label in cells:
        criterion = None if col is None else _criterion(col, col_label, criteria, scale, question)
        key = f"{question}[{entry.get('aid')}]"
        columns.append(Column(key, str(entry.get("fieldname")), matched[row], criterion))
    answers, numeric = _answer_map(
        qtype, question, scale, labels, lambda: answer_options(entries[0].get("qid")), notes
    )
    absent = sorted(set(units) - set(matched.values()))
    if absent:
        notes.append(f"units the survey does not ask about: {_names(absent)}")
    mapping = Mapping(
        question=question,
        qtype=qtype,
        columns=tuple(columns),
        answers=answers,
        numeric=numeric,
        factor=scale.factor if numeric else None,
        comments=_comment_columns(fieldmap, comments, units) if comments else (),
    )
    return mapping, notes


def _comment_columns(fieldmap: dict[str, Any], title: str, units: list[str]) -> tuple[Column, ...]:
    entries = question_fields(fieldmap, title)
    qtype = str(entries[0].get("type"))
    if qtype not in TEXTS:
        raise ConfigError(
            f"comments question {title} is of type {qtype!r}: comments are published per unit, "
            "so it must be a Multiple short text (Q) whose sub-question codes are unit codes"
        )
    matched, unmatched = match_units([str(e.get("aid")) for e in entries], units)
    if unmatched:
        raise ConfigError(
            f"comments question {title}: sub-question codes that are not unit codes: {_names(unmatched)}"
        )
    return tuple(
        Column(f"{title}[{e.get('aid')}]", str(e.get("fieldname")), matched[str(e.get("aid"))])
        for e in entries
    )
