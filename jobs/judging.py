"""Judging a canonical ballot against its round (docs/rules.md): accepted, or rejected with reasons.

Pure: the round's seats, units, window and rules come in as data, so the same checks serve the
CLI, the webhook workers and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from connectors.canonical import AnswerValue, CanonicalBallot
from service.rules import Rules, exact_text
from service.store.vote_rows import PlainVotes, VoteRow

__all__ = ["PlainVotes", "RoundContext", "Verdict", "VoteRow", "judge"]


@dataclass(frozen=True)
class RoundContext:
    """What a ballot is judged against."""

    round_id: str
    opens_at: datetime | None
    closes_at: datetime | None
    seats: dict[str, tuple[int, str]]  # token -> (seat id, seat status)
    units: frozenset[str]  # active unit codes
    rules: Rules
    # When the round was closed (POST …/close), and when these records arrived: a ballot that
    # arrives after the close does not count, so a published circular stays as published. What
    # was received before it (the inbox, or the close job's last poll) still counts.
    closed_at: datetime | None = None
    received_at: datetime | None = None
    # Answer text → (label, points text) for every answer text already mapped without a reason:
    # the same for every ballot of the round, so a province's 2 million answers, written with
    # a handful of labels, are mapped a handful of times (see ``_plain_votes``).
    mapped: dict[str, tuple[str | None, str | None]] = field(
        default_factory=dict, compare=False, repr=False
    )


@dataclass
class Verdict:
    """The outcome for one ballot: its seat, its votes, or the reasons it is rejected."""

    seat_id: int | None = None
    votes: list[VoteRow] | PlainVotes = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.reasons


def _exact(points: Fraction) -> str:
    """Points as exact text ("87.5", or "a/b" where no finite decimal exists); Fraction reads both."""
    return str(exact_text(points))


# Scores are small numbers written with a few decimals. Anything with more than this many digits
# before or after the point is refused before it becomes an exact fraction, because converting
# 1e20000000 builds a twenty-million-digit integer (seconds of CPU for one answer).
MAX_DIGITS = 30


def _plausible(value: Decimal | int) -> bool:
    """Whether the number is small enough to convert exactly at no real cost."""
    if isinstance(value, int):
        return value.bit_length() <= 128
    exponent = value.as_tuple().exponent
    return value.adjusted() <= MAX_DIGITS and isinstance(exponent, int) and exponent >= -MAX_DIGITS


def _points(
    value: AnswerValue, rules: Rules, where: str
) -> tuple[str | None, Fraction | None] | str:
    """Map an answer to (label, points); a string result is the reason it is off the scale."""
    if isinstance(value, str):
        label = value.strip()
        if label in rules.scale:
            return label, rules.scale[label]
        if label in rules.no_vote:
            return label, None
        try:
            number = Decimal(label)
        except InvalidOperation:
            labels = "、".join([*rules.scale, *rules.no_vote])
            return f"{where}: {value!r} is not on the scale ({labels})"
        value = number
    if isinstance(value, Decimal) and not value.is_finite():
        return f"{where}: {value} is not a number"
    if isinstance(value, Decimal | int) and not _plausible(value):
        return f"{where}: {value} is outside {rules.numeric_min}–{rules.numeric_max}"
    number = Fraction(value)
    if not (rules.numeric_min <= number <= rules.numeric_max):
        return f"{where}: {value} is outside {rules.numeric_min}–{rules.numeric_max}"
    return None, number * rules.numeric_factor


def judge(ballot: CanonicalBallot, ctx: RoundContext) -> Verdict:
    """Apply the acceptance checks (docs/rules.md); every failing check is named, not just the first."""
    verdict = Verdict()
    if ctx.closed_at is not None and (ctx.received_at is None or ctx.received_at > ctx.closed_at):
        verdict.reasons.append(
            f"round {ctx.round_id} is closed (since "
            f"{ctx.closed_at.astimezone(ballot.submitted_at.tzinfo).isoformat(timespec='seconds')})"
        )
    seat = ctx.seats.get(ballot.token)
    if seat is None:
        verdict.reasons.append(f"token is not a seat of round {ctx.round_id}")
    elif seat[1] != "active":
        verdict.reasons.append(f"the seat of this token was {seat[1]} and no longer votes")
    else:
        verdict.seat_id = seat[0]
    at = ballot.submitted_at
    if ctx.opens_at and at < ctx.opens_at:
        verdict.reasons.append(
            f"submitted at {at.isoformat()}, before the round opened ({ctx.opens_at.astimezone(at.tzinfo).isoformat()})"
        )
    if ctx.closes_at and at > ctx.closes_at:
        verdict.reasons.append(
            f"submitted at {at.isoformat()}, after the round closed ({ctx.closes_at.astimezone(at.tzinfo).isoformat()})"
        )
    plain = _plain_votes(ballot.answers, ctx)
    if plain is not None:
        verdict.votes = plain
    else:
        _all_votes(ballot.answers, ctx, verdict)
    for unit in ballot.comments:
        if unit not in ctx.units:
            verdict.reasons.append(f"comment on unknown unit {unit!r}")
    if verdict.reasons:
        verdict.votes = []
    return verdict


def _plain_votes(answers: dict, ctx: RoundContext) -> PlainVotes | list[VoteRow] | None:
    """The votes of a ballot with nothing to say against its answers, or None.

    The common ballot of a round with one criterion: every unit it answers is the round's, and
    every answer a label or number on the scale. Its votes are then made in a few C loops over
    the ballot (a set test of its units, one dict look-up per answer text in ``ctx.mapped``),
    the same rows ``_all_votes`` makes one Python step at a time. Anything else (criterion
    objects, a unit not in the round, an answer off the scale) returns None, and ``_all_votes``
    judges the ballot and names every reason as before."""
    criteria = ctx.rules.criteria
    if len(criteria) != 1 or not answers.keys() <= ctx.units:
        return None
    criterion, mapped = criteria[0].name, ctx.mapped
    try:
        found = list(map(mapped.__getitem__, answers.values()))
    except (KeyError, TypeError):  # a new text, a number, an object (a signalling NaN: TypeError)
        found = []
        for unit, value in answers.items():
            if type(value) not in (str, int, Decimal):
                return None
            known = mapped.get(value) if type(value) is str else None
            if known is None:
                points = _points(value, ctx.rules, f"{unit}.{criterion}")
                if isinstance(points, str):
                    return None
                known = (points[0], None if points[1] is None else _exact(points[1]))
                if type(value) is str:
                    mapped[value] = known
            found.append(known)
    if not found:
        return []
    # Kept as columns (service.store.vote_rows): a row object per answer cost more than judging.
    return PlainVotes(list(answers), found, criterion)


def _all_votes(answers: dict, ctx: RoundContext, verdict: Verdict) -> None:
    """Judge every answer one at a time: its votes, or every reason it is refused."""
    criteria = [c.name for c in ctx.rules.criteria]
    # A ballot answers ~100 units with a handful of distinct labels (满意, 基本满意, …): each
    # label is mapped to points once. Numbers are mapped each time (they rarely repeat, and a
    # signalling-NaN Decimal cannot even be hashed).
    mapped_once: dict[str, tuple[str | None, str | None]] = {}
    for unit, value in answers.items():
        if unit not in ctx.units:
            verdict.reasons.append(f"unknown unit {unit!r}")
            continue
        if isinstance(value, dict):
            given = value
        elif len(criteria) == 1:
            given = {criteria[0]: value}
        else:
            verdict.reasons.append(f"{unit}: answer each criterion ({'、'.join(criteria)})")
            continue
        for criterion, answer in given.items():
            if criterion not in criteria:
                verdict.reasons.append(f"{unit}: unknown criterion {criterion!r}")
                continue
            known = mapped_once.get(answer) if isinstance(answer, str) else None
            if known is None:
                mapped = _points(answer, ctx.rules, f"{unit}.{criterion}")
                if isinstance(mapped, str):
                    verdict.reasons.append(mapped)
                    continue
                label, points = mapped
                known = (label, None if points is None else _exact(points))
                if isinstance(answer, str):
                    mapped_once[answer] = known
            verdict.votes.append(VoteRow(unit, criterion, *known))
