"""The evidence a circular's JSON carries so that anyone can recompute it (docs/verify.md).

Per unit: the histogram of the votes that counted (value → how many, no order, no ballot
identity) and the label counts the tie-breaks use; for a quarter or half year, the constituents'
published scores and vetoes and the leaders' histograms. ``jobs.circulars.verify`` recomputes
the official result from this and nothing else.

The histograms are read from the round's accepted ballots exactly as the official ranking reads
them (``jobs.ranking.load_round``, ``jobs.scoring.settle_ballots`` and the vote helpers), not
from the ranking's output: evidence copied from the result could never catch an error in it.
"""

from __future__ import annotations

import logging
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from jobs.ranking import RoundData, load_round
from jobs.scoring import answered_criteria, combined_vote, criteria_weights, settle_ballots
from service.models.results import RankingSnapshot
from service.models.rounds import Round
from service.rules import Rules, exact_text, parse_rules
from service.store.results import latest_snapshot

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
    """Every unit's votes by group and its criterion answers by label, from the valid ballots."""

    def __init__(self, data: RoundData, rules: Rules) -> None:
        if NUMERIC in rules.scale:
            raise ValueError(f"a scale label may not be {NUMERIC!r} in published evidence")
        valid, _ = settle_ballots(data.seats, data.ballots, [u.code for u in data.units], rules)
        weights = criteria_weights(rules)
        seats = {s.token: s for s in data.seats}
        self.votes: dict[str, dict[str, Counter]] = {u.code: {} for u in data.units}
        self.labels: dict[str, Counter] = {u.code: Counter() for u in data.units}
        self.group_ballots = Counter(seats[token].group for token in valid)
        for token, ballot in valid.items():
            seat = seats[token]
            for unit, crits in ballot.answers.items():
                if unit not in self.votes or unit in seat.recusals:
                    continue
                answered = answered_criteria(crits, weights)
                if not answered:
                    continue
                self.votes[unit].setdefault(seat.group, Counter())[combined_vote(answered)] += 1
                for _, answer in answered:
                    self.labels[unit][NUMERIC if answer.label is None else answer.label] += 1
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
    data = load_round(session, rnd.id)
    tallies = _Tallies(data, rules)
    evidence: dict[str, Any] = {
        "format": FORMAT,
        "explained_in": "docs/verify.md",
        **tallies.header(),
        "vetoes": sorted(set(data.vetoes)),
    }
    codes = sorted(u.code for u in data.units)
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
