"""A monthly round on paper: the docs/rules.md rules applied by the pure functions, with no database.

``PaperRound`` takes the same compact data as the CLI-driven ``tests.jobs.evaluation.Evaluation``
and answers in the same shapes (intake counts, the ranking JSON of ``pingyi rank --json``), but
it judges each ballot with ``jobs.judging.judge``, settles them with
``jobs.scoring.settle_ballots`` and ranks with ``jobs.scoring.compute_ranking`` directly. The
rule tests run on it in milliseconds; ``test_ranking_through_the_cli.py`` proves that the CLI, the
store and both databases give the same answers.

What a paper round cannot do is what only the store knows: record versions, "unchanged"
re-deliveries, rejected records kept. Those tests stay with ``Evaluation``.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from connectors.canonical import load_ballot
from jobs.judging import RoundContext, judge
from jobs.ranking import ballot_key
from jobs.scoring import Answer, BallotInput, SeatInfo, UnitInfo, compute_ranking, settle_ballots
from service.rules import Rules, parse_rules

ROUND = "2026-10"
AT = "2026-10-28T09:12:00+08:00"  # inside the window 2026-10-01 … 2026-10-31 (Asia/Shanghai)
SMALL = {"min_votes": 3}  # keeps data small; trimming still starts at the default n = 7
GROUP = "人大代表"
ZONE = ZoneInfo("Asia/Shanghai")  # the configured default zone of a round's window


def columns(answers: Mapping[str, Sequence[Any]]) -> dict[str, dict[str, Any]]:
    """Per-unit answer columns -> one answers mapping per evaluator P01, P02, ….

    ``{"A": [100, "满意"], "B": [90, None]}`` means P01 answers A=100, B=90 and P02 answers
    A=满意 and nothing on B (``None`` = the unit is not named on that ballot).
    """
    n = max(len(col) for col in answers.values())
    out: dict[str, dict[str, Any]] = {}
    for i in range(n):
        row = {u: col[i] for u, col in answers.items() if i < len(col) and col[i] is not None}
        out[f"P{i + 1:02d}"] = row
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (
            f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}" for k, v in value.items()
        )
        return "{" + ", ".join(items) + "}"
    raise TypeError(value)


def rules_toml(rules: Mapping[str, Any] | None) -> str:
    """A pingyi.toml with exactly these ``[rules]`` (an empty table = the docs/rules.md defaults)."""
    lines = ["[rules]", *(f"{k} = {_toml_value(v)}" for k, v in (rules or {}).items())]
    return "\n".join(lines) + "\n"


def by_code(ranking: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["code"]: u for u in ranking["units"]}


def make_ballot(
    token: str,
    rid: str,
    answers: Mapping[str, Any],
    at: str = AT,
    comments: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A canonical ballot as a file or a platform would carry it."""
    return {
        "id": rid,
        "token": token,
        "submitted_at": at,
        "answers": dict(answers),
        "comments": dict(comments or {}),
    }


class PaperRound:
    """One monthly round built from compact data and scored by the pure functions.

    ``units``: code -> system. ``members``: pool id -> group, or (group, "U1;U2" conflicts).
    ``seats``: the pool ids on the panel (default: every member). A seat's token is
    ``tok-<round>-<member>``: scoring only needs tokens to be distinct.
    """

    # What ``pingyi ingest --json`` counts that a paper round can count too: not "new",
    # "updated" or "unchanged", which are the store's.
    COUNTS = ("records", "accepted", "superseded", "rejected", "invalid")

    def __init__(
        self,
        units: Mapping[str, str],
        members: Mapping[str, str | tuple[str, str]],
        *,
        rules: Mapping[str, Any] | None = None,
        seats: Sequence[str] | None = None,
    ) -> None:
        self.units = [UnitInfo(code, f"{code}单位", system) for code, system in units.items()]
        self.systems = list(dict.fromkeys(units.values()))  # in the order they were imported
        self.members = {
            mid: (spec, "") if isinstance(spec, str) else spec for mid, spec in members.items()
        }
        self.rules = self.rules_of(rules)
        self.new_round(ROUND, "2026-10-01", "2026-10-31", seats or list(members))

    @staticmethod
    def rules_of(rules: Mapping[str, Any] | None) -> Rules:
        """The rules read from the ``pingyi.toml`` the CLI tests write for these settings."""
        return parse_rules(tomllib.loads(rules_toml(rules))["rules"], "[rules]")

    def new_round(self, round_id: str, opens: str, closes: str, seats: Sequence[str]) -> None:
        """A new monthly round with this panel; later calls act on it (as ``round create``:
        a date opens at 00:00 local time and closes at the end of that day)."""
        self.round = round_id
        self.opens = datetime.combine(date.fromisoformat(opens), time.min, ZONE)
        self.closes = datetime.combine(date.fromisoformat(closes), time.max, ZONE)
        self.tokens = {m: f"tok-{round_id}-{m}" for m in seats}
        self.seats = [
            SeatInfo(
                self.tokens[m],
                self.members[m][0],
                frozenset(c for c in self.members[m][1].split(";") if c),
            )
            for m in seats
        ]
        self.accepted: dict[str, BallotInput] = {}  # ballot key -> ballot, this round's
        self.seen: set[str] = set()
        self.vetoes: list[str] = []

    def ballot(
        self,
        by: str,
        answers: Mapping[str, Any],
        *,
        at: str = AT,
        rid: str | None = None,
        token: str | None = None,
        comments: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A canonical ballot of pool member ``by`` (or an explicit ``token``)."""
        token = token if token is not None else self.tokens[by]
        return make_ballot(token, rid or f"r-{by}", answers, at, comments)

    def context(self) -> RoundContext:
        seats = {s.token: (i, "active") for i, s in enumerate(self.seats, start=1)}
        units = frozenset(u.code for u in self.units)
        return RoundContext(self.round, self.opens, self.closes, seats, units, self.rules)

    def ingest(self, ballots: Iterable[dict[str, Any]]) -> dict[str, int]:
        """Judge each ballot, settle the round, and count this batch's statuses as ``pingyi
        ingest --json`` does (a ballot's file line is parsed exactly as a file's would be)."""
        ctx, batch = self.context(), []
        counts = dict.fromkeys(self.COUNTS, 0)
        for n, data in enumerate(ballots, start=1):
            line = json.dumps(data, ensure_ascii=False)
            record = load_ballot(json.loads(line, parse_float=Decimal), f"line {n}", line)
            assert record.ballot is not None, record.error
            if record.ballot.id in self.seen:
                raise ValueError(f"{record.ballot.id}: a second version needs the store")
            self.seen.add(record.ballot.id)
            counts["records"] += 1
            verdict = judge(record.ballot, ctx)
            if not verdict.accepted:
                counts["rejected"] += 1
                continue
            answers: dict[str, dict[str, Answer]] = {}
            for vote in verdict.votes:
                points = None if vote.points is None else Fraction(vote.points)
                answers.setdefault(vote.unit, {})[vote.criterion] = Answer(vote.label, points)
            key = ballot_key(f"file:{self.round}", record.ballot.id, 1)
            self.accepted[key] = BallotInput(
                key, record.ballot.token, record.ballot.submitted_at, answers
            )
            batch.append(key)
        _, status = settle_ballots(
            self.seats, self.accepted.values(), (u.code for u in self.units), self.rules
        )
        for key in batch:
            counts[status[key]] += 1
        return counts

    def veto(self, unit: str, reason: str = "重大失误") -> None:
        assert reason and unit in {u.code for u in self.units}
        self.vetoes.append(unit)

    def rank(self, rules: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ranking JSON (``pingyi rank --json``), under these rules or the round's own."""
        ranking = compute_ranking(
            self.units,
            self.seats,
            self.accepted.values(),
            self.vetoes,
            self.rules if rules is None else self.rules_of(rules),
            self.systems,
        )
        return json.loads(json.dumps(ranking.to_json(self.round, "monthly")))


def run_round(
    answers: Mapping[str, Sequence[Any]],
    *,
    rules: Mapping[str, Any] | None = None,
    systems: Mapping[str, str] | None = None,
    vetoes: Sequence[str] = (),
) -> dict[str, Any]:
    """One round from answer columns, every evaluator seated and voting; returns the ranking.

    ``systems``: code -> system (default all 法院); ``vetoes``: units to veto.
    """
    rows = columns(answers)
    units = {u: (systems or {}).get(u, "法院") for u in answers}
    paper = PaperRound(units, dict.fromkeys(rows, GROUP), rules=rules)
    counts = paper.ingest(paper.ballot(by, row) for by, row in rows.items())
    assert counts["rejected"] == 0, counts
    for unit in vetoes:
        paper.veto(unit)
    return paper.rank()
