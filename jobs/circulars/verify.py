"""Recompute a circular's official result from its JSON alone (docs/verify.md).

Deliberately independent of the code that made the result: no import from ``jobs.scoring``,
``jobs.ranks``, ``jobs.summary`` or ``service.rules``, only the standard library, so that a bug
there shows up here as a difference instead of being repeated. From the rules as applied, the
veto decisions, the participation and each unit's histograms (``jobs.circulars.evidence``) it
recomputes every score (exactly, with fractions, rounded half up once), the tie-break numbers,
each status, the ranks in system and overall, the top, bottom and vetoed lists, and for a
quarter or half year M, L and Q. It compares them with what the file claims.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any

RANKED, INSUFFICIENT, VETOED = "ranked", "insufficient", "vetoed"
SUMMARY_KINDS = ("quarterly", "semiannual")


@dataclass
class Result:
    """One unit as recomputed: the numbers every rank and list is built from."""

    code: str
    system: str
    votes: int
    score: Fraction | None  # the published, two-decimal score
    mean: Fraction | None  # untrimmed mean (a summary: M)
    sat: Fraction | None = None
    dis: Fraction | None = None
    status: str = INSUFFICIENT
    rank_in_system: int | None = None
    rank_overall: int | None = None
    parts: dict[str, Any] = field(default_factory=dict)  # a summary's rounds, M and L


@dataclass
class Verification:
    """What a check found: differences (file value, recomputed value) and notes on anything
    the file does not let it recompute."""

    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def expect(self, what: str, claimed: Any, recomputed: Any) -> None:
        if _value(claimed) != _value(recomputed):
            self.differences.append(
                f"{what}: the file says {_show(claimed)}, recomputed {_show(recomputed)}"
            )


def _value(x: Any) -> Any:
    """JSON numbers compared exactly: a float through its shortest decimal text."""
    if isinstance(x, bool) or x is None or isinstance(x, str | list | int | Fraction):
        return x
    if isinstance(x, float):
        return Fraction(str(x))
    return x


def _show(x: Any) -> str:
    if isinstance(x, Fraction):
        if x.denominator == 1:
            return str(x.numerator)
        return str(Decimal(x.numerator) / Decimal(x.denominator))
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k}: {_show(_value(v))}" for k, v in x.items()) + "}"
    return "null" if x is None else str(x)


def half_up(x: Fraction, places: int = 2) -> Fraction:
    """Round half up (away from zero at .5) to ``places`` decimals, exactly."""
    scaled = x * 10**places
    whole = floor(abs(scaled) + Fraction(1, 2))
    return Fraction(whole if scaled >= 0 else -whole, 10**places)


def _votes(histogram: dict[str, int]) -> list[Fraction]:
    """The histogram's votes, one entry per vote, sorted."""
    return sorted(Fraction(v) for v, n in histogram.items() for _ in range(int(n)))


def _trimmed_mean(votes: list[Fraction], rules: dict[str, Any]) -> Fraction:
    k, n = int(rules["trim"]), len(votes)
    if k and n >= int(rules["trim_min_n"]) and n > 2 * k:
        votes = votes[k:-k]
    return sum(votes, Fraction(0)) / len(votes)


def _score(unit: dict[str, Any], rules: dict[str, Any]) -> tuple[Fraction | None, list[Fraction]]:
    """The exact score from a unit's histogram(s), and all its votes pooled."""
    weights = {g: Fraction(str(w)) for g, w in (rules.get("group_weights") or {}).items()}
    if "histograms" in unit:  # group weights: renormalised mean of per-group trimmed means
        groups = {g: _votes(h) for g, h in unit["histograms"].items()}
        groups = {g: v for g, v in groups.items() if v}
        pooled = sorted(v for votes in groups.values() for v in votes)
        if not groups:
            return None, pooled
        total = sum(weights[g] for g in groups)
        return sum(weights[g] * _trimmed_mean(v, rules) for g, v in groups.items()) / total, pooled
    pooled = _votes(unit["histogram"])
    if weights or not pooled:  # a pooled histogram under group weights: withheld per group
        return None, pooled
    return _trimmed_mean(pooled, rules), pooled


def _monthly_unit(
    code: str, system: str, unit: dict[str, Any], rules: dict[str, Any], claimed: dict[str, Any]
) -> Result:
    """A month's unit (or a summary's leaders' score): score, mean, shares and votes."""
    exact, pooled = _score(unit, rules)
    score = None if exact is None else half_up(exact)
    if exact is None and pooled:  # per-group histograms withheld: the score is taken as published
        score = None if claimed.get("score") is None else Fraction(str(claimed["score"]))
    labels = {k: int(v) for k, v in unit["labels"].items()}
    answers = sum(labels.values())
    return Result(
        code=code,
        system=system,
        votes=len(pooled),
        score=score,
        mean=sum(pooled, Fraction(0)) / len(pooled) if pooled else None,
        sat=Fraction(labels.get(rules["satisfied_label"], 0), answers) if answers else None,
        dis=Fraction(labels.get(rules["dissatisfied_label"], 0), answers) if answers else None,
    )


def _tie_key(u: Result, primary: Fraction | None) -> tuple:
    """score, 满意 share (higher), 不满意 share (lower), untrimmed mean, votes; no score last."""
    if primary is None:
        return (1,)
    return (0, -primary, -(u.sat or 0), u.dis or 0, -(u.mean or 0), -u.votes)


def _competition(units: list[Result], primary: dict[str, Fraction | None]) -> dict[str, int]:
    """Ranks 1, 2, 2, 4 …; vetoed units after all others, ordered the same way."""
    keyed = sorted(((u.status == VETOED, _tie_key(u, primary[u.code])), u.code) for u in units)
    ranks, previous, rank = {}, None, 0
    for i, (key, code) in enumerate(keyed):
        if key != previous:
            rank, previous = i + 1, key
        ranks[code] = rank
    return ranks


def _zscore_keys(units: list[Result]) -> dict[str, Fraction]:
    """z·|z| per unit, over its system's ranked units (an increasing function of z: exact)."""
    keys = {}
    for system in {u.system for u in units}:
        scored = [u for u in units if u.system == system and u.score is not None]
        population = [u.score for u in scored if u.status == RANKED]
        mean = sum(population, Fraction(0)) / len(population) if population else Fraction(0)
        var = (
            sum(((v - mean) ** 2 for v in population), Fraction(0)) / len(population)
            if population
            else Fraction(0)
        )
        for u in scored:
            d = u.score - mean
            keys[u.code] = Fraction(0) if var == 0 else d * abs(d) / var
    return keys


def rank_units(units: list[Result], rules: dict[str, Any]) -> dict[str, list[str]]:
    """Set ranks in system and overall; return the top, bottom and vetoed lists."""
    rankable = [u for u in units if u.status != INSUFFICIENT]
    by_code = {u.code: u for u in rankable}
    for system in {u.system for u in rankable}:
        members = [u for u in rankable if u.system == system]
        for code, rank in _competition(members, {u.code: u.score for u in members}).items():
            by_code[code].rank_in_system = rank
    if rules.get("cross_system") == "zscore":
        keys = _zscore_keys(rankable)
        primary = {u.code: keys.get(u.code) for u in rankable}
    else:
        primary = {u.code: u.score for u in rankable}
    for code, rank in _competition(rankable, primary).items():
        by_code[code].rank_overall = rank
    ranked = sorted((u for u in units if u.rank_overall is not None),
                    key=lambda u: (u.rank_overall, u.code))  # fmt: skip
    eligible = [u for u in ranked if u.status == RANKED]
    top_n, bottom_n = int(rules["top"]), int(rules["bottom"])
    top: list[str] = []
    if top_n > 0 and eligible:
        cut = eligible[min(top_n, len(eligible)) - 1].rank_overall
        top = [u.code for u in eligible if u.rank_overall <= cut]
    bottom: list[str] = []
    if bottom_n > 0 and ranked:
        cut = ranked[max(len(ranked) - bottom_n, 0)].rank_overall
        chosen = [u for u in ranked if u.rank_overall >= cut]
        bottom = [u.code for u in sorted(chosen, key=lambda u: (-u.rank_overall, u.code))]
    return {"top": top, "bottom": bottom}


def _vetoed_list(units: list[Result], vetoed: set[str]) -> list[str]:
    """The vetoed units in order: those with an overall rank by rank, then the rest; code."""
    order = sorted(units, key=lambda u: (u.rank_overall is None, u.rank_overall or 0, u.code))
    return [u.code for u in order if u.code in vetoed]


def _quorum_met(participation: dict[str, Any], rules: dict[str, Any]) -> bool:
    quorum = Fraction(str(rules["quorum"]))
    seats, valid = int(participation["seats"]), int(participation["valid_ballots"])
    return seats > 0 and valid * quorum.denominator >= quorum.numerator * seats


def _summary_unit(
    code: str, system: str, unit: dict[str, Any], rules: dict[str, Any], claimed: dict[str, Any]
) -> Result:
    """A quarter's or half year's unit: M over the published constituent scores, L from the
    leaders' histogram (the monthly rules, one vote enough), Q = w·M + (1 − w)·L."""
    scores = [Fraction(s) for s in unit["rounds"].values() if s is not None]
    mean = sum(scores, Fraction(0)) / len(scores) if scores else None
    published_l = {"score": (claimed.get("parts") or {}).get("leaders")}
    leaders = _monthly_unit(code, system, unit["leaders"], rules, published_l)
    level = leaders.score if leaders.votes else None
    weight = Fraction(str(rules["monthly_weight"]))
    exact = (
        None if mean is None else (mean if level is None else weight * mean + (1 - weight) * level)
    )
    return Result(
        code=code,
        system=system,
        votes=0,  # the order is score, then M, then a shared rank: no shares, no vote counts
        score=None if exact is None else half_up(exact),
        mean=mean,
        parts={
            "rounds": {r: None if s is None else Fraction(s) for r, s in unit["rounds"].items()},
            "mean": None if mean is None else half_up(mean),
            "leaders": level,
            "leader_votes": leaders.votes,
        },
    )


def verify_circular(doc: dict[str, Any]) -> Verification:
    """Recompute the official result of a circular's JSON and compare it with what it says."""
    check = Verification()
    evidence = doc.get("evidence")
    if not isinstance(evidence, dict) or "units" not in evidence:
        check.differences.append("evidence: the file carries none, so nothing can be recomputed")
        return check
    ranking, rules = doc["ranking"], doc["rules"]
    summary = ranking.get("kind") in SUMMARY_KINDS
    if evidence.get("withheld"):
        check.notes.append(f"scores taken as published: {evidence['withheld']}")
    elif rules.get("group_weights") and evidence.get("histograms") != "per_group":
        check.expect("evidence histograms (group weights are set)", evidence.get("histograms"),
                     "per_group")  # fmt: skip
    claimed = {u["code"]: u for u in ranking["units"]}
    check.expect("units", sorted(claimed), sorted(evidence["units"]))
    if not check.ok:
        return check
    participation = ranking["participation"]
    check.expect("valid", ranking["valid"], _quorum_met(participation, rules))
    vetoed = set(evidence.get("vetoes") or ())
    if summary:  # a veto anywhere below carries up
        for part in (evidence.get("constituents") or {}).values():
            vetoed |= set(part.get("vetoed") or ())
    make = _summary_unit if summary else _monthly_unit
    units = []
    for code, c in claimed.items():
        u = make(code, c["system"], evidence["units"][code], rules, c)
        if summary:
            u.status = INSUFFICIENT if u.score is None else (VETOED if code in vetoed else RANKED)
        else:
            enough = u.votes >= int(rules["min_votes"]) and u.score is not None
            u.status = VETOED if code in vetoed else (RANKED if enough else INSUFFICIENT)
        units.append(u)
    lists = rank_units(units, rules)
    lists["vetoed"] = _vetoed_list(units, vetoed)
    for u in units:
        _compare_unit(check, claimed[u.code], u, summary, int(participation["valid_ballots"]))
    for u in units:
        _compare_ranks(check, claimed[u.code], u)
    for name in ("top", "bottom", "vetoed"):
        check.expect(name, ranking.get(name), lists[name])
    for decision in doc.get("vetoes") or ():
        if decision.get("unit") not in vetoed:
            check.expect(f"veto decision on {decision.get('unit')}", "vetoed", "not vetoed")
    return check


def _compare_unit(
    check: Verification, claimed: dict[str, Any], u: Result, summary: bool, valid_ballots: int
) -> None:
    """Every number the file publishes for a unit against its recomputation."""
    code = u.code
    if summary:
        parts = claimed.get("parts") or {}
        check.expect(f"{code} votes (leaders)", claimed.get("votes"), u.parts["leader_votes"])
        check.expect(f"{code} constituent scores", {r: _value(s) for r, s in (parts.get("rounds") or {}).items()},
                     u.parts["rounds"])  # fmt: skip
        check.expect(f"{code} M", parts.get("mean"), u.parts["mean"])
        check.expect(f"{code} L", parts.get("leaders"), u.parts["leaders"])
    else:
        check.expect(f"{code} votes", claimed.get("votes"), u.votes)
        if u.votes > valid_ballots:
            check.expect(f"{code} votes (at most the valid ballots)", valid_ballots, u.votes)
    check.expect(f"{code} score", claimed.get("score"), u.score)
    if not summary:
        check.expect(f"{code} untrimmed mean", claimed.get("mean"),
                     None if u.mean is None else half_up(u.mean))  # fmt: skip
        for key, share in (("satisfied_share", u.sat), ("dissatisfied_share", u.dis)):
            check.expect(
                f"{code} {key}", claimed.get(key), None if share is None else half_up(share, 4)
            )
    check.expect(f"{code} status", claimed.get("status"), u.status)


def _compare_ranks(check: Verification, claimed: dict[str, Any], u: Result) -> None:
    """Ranks after every unit's numbers: a wrong number shows as itself, not as the ranks of
    the units it displaced."""
    check.expect(f"{u.code} rank in system", claimed.get("rank_in_system"), u.rank_in_system)
    check.expect(f"{u.code} rank overall", claimed.get("rank_overall"), u.rank_overall)
