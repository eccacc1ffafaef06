"""The evidence a circular's JSON carries so that anyone can recompute it (docs/verify.md).

Per unit: the histogram of the votes that counted (value → how many, no order, no ballot
identity) and the label counts the tie-breaks use; for a quarter or half year, the constituents'
published scores and vetoes and the leaders' histograms. ``jobs.circulars.verify`` recomputes
the official result from this and nothing else.

The histograms are counted where the votes are stored, by a grouped query of their own
(``service.store.vote_arrays.evidence_counts``: the accepted ballots on active seats, recused
units taken off by an anti-join), never taken from the ranking's output nor from its queries
(``service.store.aggregates``, which subtracts recusals afterwards): evidence copied from the
result, or counted by the same code, could never catch an error in it. A province round's 2.25
million votes are a few thousand grouped rows here (docs/scale.md).
"""

from __future__ import annotations

import logging
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from jobs.reliability.votes import cells_of
from jobs.scoring import criteria_weights
from service.models.results import RankingSnapshot
from service.models.rounds import Round
from service.rules import Rules, exact_text, parse_rules
from service.store.results import latest_snapshot
from service.store.round_units import round_unit_codes
from service.store.rounds import vetoed_units
from service.store.vote_arrays import counted_ballots, evidence_counts, vote_arrays

logger = logging.getLogger(__name__)

FORMAT = "pingyi-evidence/1"
NUMERIC = "numeric"  # the label-count key of numeric answers
# With group weights, per-group histograms are published only when every group that cast a valid
# ballot cast at least this many: below it, a group's histogram can show one person's votes
# (docs/verify.md, Privacy).
MIN_GROUP_BALLOTS = 3


def points_text(value: Fraction) -> str:
    """A vote value written exactly: "100", "87.5", or "a/b" where no finite decimal exists."""
    return str(exact_text(value))


def _histogram(counts: Counter) -> dict[str, int]:
    """Value → count, highest value first: the order of values, never of ballots."""
    return {points_text(v): counts[v] for v in sorted(counts, reverse=True)}


class _Tallies:
    """Every unit's votes by group and its criterion answers by label, from the counted votes
    as the store groups them (``service.store.vote_arrays``): one ``GROUP BY`` with one
    criterion; with several, each ballot's weighted mean is made per (ballot, unit) from the
    store's integer arrays, exactly."""

    def __init__(self, session: Session, round_id: str, codes: list[str], rules: Rules) -> None:
        if NUMERIC in rules.scale:
            raise ValueError(f"a scale label may not be {NUMERIC!r} in published evidence")
        criteria = list(criteria_weights(rules))
        self.votes: dict[str, dict[str, Counter]] = {code: {} for code in codes}
        self.labels: dict[str, Counter] = {code: Counter() for code in codes}
        self.group_ballots = Counter(group for _, _, group, _ in counted_ballots(session, round_id))
        exact: dict[str, Fraction] = {}
        # Without group weights the histograms are pooled: the groups need not be told apart.
        by_group = bool(rules.group_weights)
        for unit, group, label, points, n in evidence_counts(session, round_id, criteria, by_group):
            if unit not in self.votes:
                continue  # not a unit of the round: counted nowhere
            self.labels[unit][NUMERIC if label is None else label] += n
            if len(criteria) == 1:
                value = exact.get(points) or exact.setdefault(points, Fraction(points))
                self.votes[unit].setdefault(group or "", Counter())[value] += n
        if len(criteria) > 1:
            self._combined(session, round_id, codes, rules)
        self.scale = list(rules.scale)
        self.by_group = bool(rules.group_weights)
        small = sorted(g for g, n in self.group_ballots.items() if n < MIN_GROUP_BALLOTS)
        self.withheld = None
        if self.by_group and small:
            self.withheld = (
                f"per-group histograms withheld: group(s) {', '.join(small)} cast fewer than "
                f"{MIN_GROUP_BALLOTS} valid ballots, so a group's histogram could show one "
                "person's votes (docs/verify.md, Privacy); the scores cannot be recomputed here"
            )
            logger.warning("circular evidence: %s", self.withheld)

    def _combined(self, session: Session, round_id: str, codes: list[str], rules: Rules) -> None:
        """Histograms when a vote is the weighted mean of several criteria: made per (ballot,
        unit) in integers, then counted per (unit, group, value)."""
        arrays = vote_arrays(session, round_id, codes, list(criteria_weights(rules)))
        cells = cells_of(arrays, len(codes), rules)
        groups = sorted({group for _, _, group, _ in arrays.ballots})
        group_of = np.array([groups.index(g) for _, _, g, _ in arrays.ballots], dtype=np.int64)
        key = np.stack([cells.unit, group_of[cells.row], cells.num, cells.den], axis=1)
        found, counts = np.unique(key.reshape(-1, 4), axis=0, return_counts=True)
        for (unit, group, num, den), n in zip(found.tolist(), counts.tolist(), strict=True):
            votes = self.votes[codes[unit]].setdefault(groups[group], Counter())
            votes[Fraction(num, den)] += n

    def unit(self, code: str) -> dict[str, Any]:
        """One unit's histogram(s) and label counts (every scale label, zero counts included)."""
        groups = self.votes[code]
        labels = {label: self.labels[code][label] for label in self.scale}
        labels[NUMERIC] = self.labels[code][NUMERIC]
        if self.by_group and self.withheld is None:
            return {"histograms": {g: _histogram(c) for g, c in sorted(groups.items())},
                    "labels": labels}  # fmt: skip
        pooled = sum(groups.values(), Counter())
        return {"histogram": _histogram(pooled), "labels": labels}

    def header(self) -> dict[str, Any]:
        """How the histograms are laid out: pooled, per group, or per group withheld."""
        layout = "per_group" if self.by_group and self.withheld is None else "pooled"
        return {"histograms": layout, "withheld": self.withheld}


def evidence_of(session: Session, rnd: Round, snapshot: RankingSnapshot) -> dict[str, Any]:
    """The ``evidence`` part of a circular's JSON for this round and ranking snapshot.

    The rules are the snapshot's (the rules as applied), read back exactly. A monthly round
    carries each unit's histogram and label counts and the round's own veto decisions; a
    summary round each unit's constituent scores as published, the constituents' vetoes
    (carried up at any depth, since each lists the vetoes it carries) and the leaders'
    histograms.
    """
    rules = parse_rules(snapshot.rules, "ranking snapshot rules")
    codes = sorted(round_unit_codes(session, rnd.id))
    tallies = _Tallies(session, rnd.id, codes, rules)
    evidence: dict[str, Any] = {
        "format": FORMAT,
        "explained_in": "docs/verify.md",
        **tallies.header(),
        "vetoes": sorted(set(vetoed_units(session, rnd.id))),
    }
    if rnd.kind == "monthly":
        evidence["units"] = {code: tallies.unit(code) for code in codes}
        return evidence
    parts = _constituents(session, rnd)
    evidence["constituents"] = {pid: {"vetoed": vetoed} for pid, (_, vetoed) in parts.items()}
    evidence["units"] = {
        code: {
            "rounds": {pid: scores.get(code) for pid, (scores, _) in parts.items()},
            "leaders": tallies.unit(code),
        }
        for code in codes
    }
    return evidence


def _constituents(session: Session, rnd: Round) -> dict[str, tuple[dict[str, str | None], list]]:
    """Each constituent's published scores (exact two-decimal text) and vetoed units, from its
    latest ranking: the numbers the summary was ranked from (``jobs.ranking``)."""
    parts: dict[str, tuple[dict[str, str | None], list]] = {}
    for pid in rnd.parts or ():
        snapshot = latest_snapshot(session, pid)
        result = {} if snapshot is None else snapshot.result
        scores = {
            u["code"]: None if u["score"] is None else f"{Decimal(str(u['score'])):.2f}"
            for u in result.get("units", [])
        }
        parts[pid] = (scores, list(result.get("vetoed") or ()))
    return parts
