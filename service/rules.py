"""The rules file: every number of docs/rules.md as a setting, loaded, validated and defaulted.

Numbers are kept exact (``Fraction``) because a published score must be reproducible to the last
decimal: TOML floats such as ``0.5`` are read back through their decimal text, never used as
binary floats.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any


class RulesError(ValueError):
    """A rules file is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Criterion:
    """One scored aspect of a unit (e.g. 工作作风) with its weight in the vote."""

    name: str
    weight: Fraction


@dataclass(frozen=True)
class Rules:
    """The scoring rules a round is computed under (docs/rules.md, with its defaults)."""

    # answers and points: label -> points; labels in ``no_vote`` are "不了解"-like.
    scale: dict[str, Fraction] = field(
        default_factory=lambda: {
            "满意": Fraction(100),
            "基本满意": Fraction(70),
            "不满意": Fraction(30),
        }
    )
    no_vote: tuple[str, ...] = ("不了解",)
    numeric_min: Fraction = Fraction(0)
    numeric_max: Fraction = Fraction(100)
    # A numeric answer is multiplied by this to become points (10 for a 0–10 scale).
    numeric_factor: Fraction = Fraction(1)
    satisfied_label: str = "满意"
    dissatisfied_label: str = "不满意"
    criteria: tuple[Criterion, ...] = (Criterion("总体", Fraction(1)),)
    # ballots
    min_coverage: Fraction = Fraction(1, 2)
    quorum: Fraction = Fraction(2, 3)
    # a unit's score
    min_votes: int = 10
    trim_min_n: int = 7
    trim: int = 1
    # Optional per-group policy weights; empty = off (every vote counts the same).
    group_weights: dict[str, Fraction] = field(default_factory=dict)
    # ranking
    top: int = 10
    bottom: int = 5
    cross_system: str = "raw"
    # summary rounds: Q = monthly_weight × mean(monthly) + (1 − monthly_weight) × leaders
    monthly_weight: Fraction = Fraction(7, 10)

    def as_dict(self) -> dict[str, Any]:
        """A plain, JSON-safe view for circulars, snapshots and audit records."""
        return {
            "scale": {k: exact_text(v) for k, v in self.scale.items()},
            "no_vote": list(self.no_vote),
            "numeric_range": [exact_text(self.numeric_min), exact_text(self.numeric_max)],
            "numeric_factor": exact_text(self.numeric_factor),
            "satisfied_label": self.satisfied_label,
            "dissatisfied_label": self.dissatisfied_label,
            "criteria": [{"name": c.name, "weight": exact_text(c.weight)} for c in self.criteria],
            "min_coverage": exact_text(self.min_coverage),
            "quorum": f"{self.quorum.numerator}/{self.quorum.denominator}",
            "min_votes": self.min_votes,
            "trim_min_n": self.trim_min_n,
            "trim": self.trim,
            "group_weights": {k: exact_text(v) for k, v in self.group_weights.items()},
            "top": self.top,
            "bottom": self.bottom,
            "cross_system": self.cross_system,
            "monthly_weight": exact_text(self.monthly_weight),
        }


def exact_text(value: Fraction) -> int | str:
    """Exact text for a fraction: an int when whole, else a finite decimal or ``a/b``."""
    if value.denominator == 1:
        return value.numerator
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den == 1:
        from decimal import Decimal, localcontext

        with localcontext() as ctx:
            ctx.prec = 50
            return format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return f"{value.numerator}/{value.denominator}"


def to_fraction(value: Any, where: str) -> Fraction:
    """Read a rules number exactly; a float goes through its shortest decimal repr."""
    if isinstance(value, bool):
        raise RulesError(f"{where}: expected a number, got a boolean")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(repr(value))
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise RulesError(f"{where}: {value!r} is not a number") from None
    raise RulesError(f"{where}: expected a number, got {type(value).__name__}")


def _int(value: Any, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RulesError(f"{where}: expected an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise RulesError(f"{where}: must be at least {minimum}, got {value}")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RulesError(f"{where}: expected a non-empty string, got {value!r}")
    return value.strip()


def _unit_interval(value: Any, where: str) -> Fraction:
    f = to_fraction(value, where)
    if not 0 <= f <= 1:
        raise RulesError(f"{where}: must be between 0 and 1, got {value!r}")
    return f


def parse_rules(data: dict[str, Any], origin: str = "[rules]") -> Rules:
    """Validate a ``[rules]`` table; unknown keys and wrong types are refused by name."""
    if not isinstance(data, dict):
        raise RulesError(f"{origin}: expected a table")
    known = set(_PARSERS)
    unknown = sorted(set(data) - known)
    if unknown:
        raise RulesError(
            f"{origin}: unknown key {unknown[0]!r} (known keys: {', '.join(sorted(known))})"
        )
    values: dict[str, Any] = {}
    for key, raw in data.items():
        values.update(_PARSERS[key](raw, f"{origin}.{key}"))
    rules = Rules(**values)
    _check_consistent(rules, origin)
    return rules


def _parse_scale(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw:
        raise RulesError(f"{where}: expected a table of label = points")
    scale = {}
    for label, points in raw.items():
        p = to_fraction(points, f"{where}.{label}")
        if p < 0:
            raise RulesError(f"{where}.{label}: points must not be negative")
        scale[_str(label, where)] = p
    return {"scale": scale}


def _parse_labels(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise RulesError(f"{where}: expected a list of labels")
    return {"no_vote": tuple(x.strip() for x in raw)}


def _parse_range(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, list) or len(raw) != 2:
        raise RulesError(f"{where}: expected [min, max]")
    lo, hi = (to_fraction(v, where) for v in raw)
    if lo > hi:
        raise RulesError(f"{where}: min {lo} is above max {hi}")
    return {"numeric_min": lo, "numeric_max": hi}


def _parse_criteria(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, list) or not raw:
        raise RulesError(f"{where}: expected a non-empty list of {{name, weight}} tables")
    out = []
    for i, item in enumerate(raw):
        w = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise RulesError(f"{w}: expected a table with name and weight")
        extra = sorted(set(item) - {"name", "weight"})
        if extra:
            raise RulesError(f"{w}: unknown key {extra[0]!r}")
        if "name" not in item:
            raise RulesError(f"{w}: missing key 'name'")
        weight = to_fraction(item.get("weight", 1), f"{w}.weight")
        if weight <= 0:
            raise RulesError(f"{w}.weight: must be positive")
        out.append(Criterion(_str(item["name"], f"{w}.name"), weight))
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise RulesError(f"{where}: criterion names must be unique")
    return {"criteria": tuple(out)}


def _parse_group_weights(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise RulesError(f"{where}: expected a table of group = weight")
    weights = {}
    for group, value in raw.items():
        weight = to_fraction(value, f"{where}.{group}")
        if weight <= 0:
            # A weight of 0 would keep a group's votes in n and in the shares but out of the
            # score, and a unit voted on only by such groups would have no score at all.
            raise RulesError(
                f"{where}.{group}: weight must be positive (a group whose votes should not "
                "count should hold no seats)"
            )
        weights[_str(group, where)] = weight
    return {"group_weights": weights}


def check_group_weights(rules: Rules, groups: Iterable[str], origin: str = "[rules]") -> None:
    """With group weights on, every group that holds seats in the round must have one.

    Checked when a round's seats are loaded for scoring: the rules file alone does not know the
    groups. A group left out used to weigh 0 without a word (docs/rules.md, Group weights).
    """
    if not rules.group_weights:
        return
    missing = sorted(set(groups) - set(rules.group_weights))
    if missing:
        named = ", ".join(repr(g) for g in missing)
        raise RulesError(
            f"{origin}.group_weights: no weight for group {named}, which holds seats in this "
            "round; give every group with seats a weight (or remove group_weights)"
        )


def _parse_cross(raw: Any, where: str) -> dict[str, Any]:
    if raw not in ("raw", "zscore"):
        raise RulesError(f'{where}: expected "raw" or "zscore", got {raw!r}')
    return {"cross_system": raw}


_PARSERS = {
    "scale": _parse_scale,
    "no_vote": _parse_labels,
    "numeric_range": _parse_range,
    "numeric_factor": lambda v, w: {"numeric_factor": to_fraction(v, w)},
    "satisfied_label": lambda v, w: {"satisfied_label": _str(v, w)},
    "dissatisfied_label": lambda v, w: {"dissatisfied_label": _str(v, w)},
    "criteria": _parse_criteria,
    "min_coverage": lambda v, w: {"min_coverage": _unit_interval(v, w)},
    "quorum": lambda v, w: {"quorum": _unit_interval(v, w)},
    "min_votes": lambda v, w: {"min_votes": _int(v, w)},
    "trim_min_n": lambda v, w: {"trim_min_n": _int(v, w)},
    "trim": lambda v, w: {"trim": _int(v, w)},
    "group_weights": _parse_group_weights,
    "top": lambda v, w: {"top": _int(v, w)},
    "bottom": lambda v, w: {"bottom": _int(v, w)},
    "cross_system": _parse_cross,
    "monthly_weight": lambda v, w: {"monthly_weight": _unit_interval(v, w)},
}


def _check_consistent(rules: Rules, origin: str) -> None:
    overlap = set(rules.scale) & set(rules.no_vote)
    if overlap:
        raise RulesError(f"{origin}: label {sorted(overlap)[0]!r} is both in scale and no_vote")
    if rules.trim_min_n and 2 * rules.trim >= rules.trim_min_n:
        raise RulesError(
            f"{origin}.trim: dropping {rules.trim} at each end needs trim_min_n above "
            f"{2 * rules.trim}, got {rules.trim_min_n}"
        )
