"""The verifiable panel draw (docs/draw.md), as pure functions anyone can re-run.

Everything here depends only on data that is published: the frozen pool snapshot (announced
before the lottery), the seat count, the method and the seed string built from the lottery
results. No clock, no database, no ``random``: given the same record, the same panel comes out,
which is what ``pingyi draw verify`` checks.

Canonical pool serialisation (what ``pool_sha256`` is taken over), UTF-8 text::

    pingyi-pool-v1
    round<TAB><round id>
    seats<TAB><total seats>
    group<TAB><group name><TAB><active members><TAB><quota or "-">
    member<TAB><group name><TAB><member id>        (eligible members only)

All group lines first, sorted by group name; then the member lines, sorted by group name and
then member id (Unicode code point order throughout); each line ends in "\\n".
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from math import floor

METHODS = ("hmac-sha256-v1", "rfc3797")
# RFC 3797 numbers the pool with a 2-byte counter.
RFC3797_MAX_POOL = 65535


class DrawError(ValueError):
    """Bad draw input; the message says what is wrong."""


# ---- seed ---------------------------------------------------------------------------------


_SOURCE = re.compile(r"(?:\d+\.)+")


def parse_seed(seed: str, sources: int | None = None) -> list[list[int]]:
    """Check an RFC 3797-style seed string and return its numbers per source.

    Format: for each source in the announced order, its integers sorted ascending, each in
    decimal without leading zeros followed by ".", and "/" after each source, e.g.
    ``9319./2.5.8.10.12./9.18.26.34.41.45./``.
    """
    if not seed:
        raise DrawError("the seed is empty")
    if seed != seed.strip():
        raise DrawError("the seed has spaces at its start or end")
    if not seed.endswith("/"):
        raise DrawError("the seed must end with '/' (one '/' after each source)")
    parts = seed[:-1].split("/")
    result = []
    for i, part in enumerate(parts, start=1):
        if not _SOURCE.fullmatch(part):
            bad = next((ch for ch in part if not (ch.isdigit() or ch == ".")), None)
            if bad is not None:
                raise DrawError(f"seed source {i} ({part!r}): unexpected character {bad!r}")
            raise DrawError(
                f"seed source {i} ({part!r}): write each number followed by '.', e.g. '2.5.8.'"
            )
        texts = part[:-1].split(".")
        for text in texts:
            if len(text) > 1 and text.startswith("0"):
                raise DrawError(f"seed source {i}: {text!r} has a leading zero")
        numbers = [int(t) for t in texts]
        for a, b in pairwise(numbers):
            if b < a:
                raise DrawError(
                    f"seed source {i}: numbers must be sorted ascending ({a} comes before {b})"
                )
        result.append(numbers)
    if sources is not None and len(result) != sources:
        raise DrawError(f"the seed has {len(result)} sources, the announcement names {sources}")
    return result


def seed_from_numbers(text: str) -> str:
    """Build the seed string from lottery results as people write them.

    Sources are separated by ";" and numbers by spaces or commas, in any order:
    ``"9319; 2 5 12 8 10; 9 18 26 34 41 45"`` → ``9319./2.5.8.10.12./9.18.26.34.41.45./``.
    """
    sources = [s for s in (part.strip() for part in text.replace("；", ";").split(";")) if s]
    if not sources:
        raise DrawError("no lottery numbers given")
    out = []
    for i, source in enumerate(sources, start=1):
        tokens = source.replace(",", " ").replace("，", " ").split()
        try:
            numbers = sorted(int(t) for t in tokens)
        except ValueError:
            raise DrawError(f"lottery source {i} ({source!r}): numbers only, please") from None
        if any(n < 0 for n in numbers):
            raise DrawError(f"lottery source {i}: negative numbers are not lottery results")
        out.append("".join(f"{n}." for n in numbers) + "/")
    return "".join(out)


def key_of(seed: str) -> bytes:
    """K = SHA-256(UTF-8 seed string)."""
    return hashlib.sha256(seed.encode("utf-8")).digest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


# ---- the frozen pool -----------------------------------------------------------------------


@dataclass(frozen=True)
class GroupSnapshot:
    """A group as frozen at announcement: its active count, quota and eligible members."""

    name: str
    active: int
    eligible: tuple[str, ...]
    quota: int | None = None
    cycle: int = 1
    restarted: bool = False
    # Every active member (eligible or not), so verify can name any pool row changed since;
    # the published fingerprint covers the eligible list, the audit chain covers this.
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class PoolSnapshot:
    """What is published before the randomness exists."""

    round_id: str
    seats: int
    groups: tuple[GroupSnapshot, ...]

    def as_dict(self) -> dict:
        return {
            "round": self.round_id,
            "seats": self.seats,
            "groups": [
                {
                    "name": g.name,
                    "active": g.active,
                    "quota": g.quota,
                    "cycle": g.cycle,
                    "restarted": g.restarted,
                    "eligible": list(g.eligible),
                    "members": list(g.members),
                }
                for g in self.groups
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> PoolSnapshot:
        return cls(
            data["round"],
            int(data["seats"]),
            tuple(
                GroupSnapshot(
                    g["name"],
                    int(g["active"]),
                    tuple(g["eligible"]),
                    g.get("quota"),
                    int(g.get("cycle", 1)),
                    bool(g.get("restarted", False)),
                    tuple(g.get("members", ())),
                )
                for g in data["groups"]
            ),
        )


def serialise_pool(pool: PoolSnapshot) -> str:
    """The canonical text the fingerprint is taken over (see the module docstring)."""
    lines = ["pingyi-pool-v1", f"round\t{pool.round_id}", f"seats\t{pool.seats}"]
    groups = sorted(pool.groups, key=lambda g: g.name)
    for g in groups:
        quota = "-" if g.quota is None else str(g.quota)
        lines.append(f"group\t{g.name}\t{g.active}\t{quota}")
    for g in groups:
        lines.extend(f"member\t{g.name}\t{m}" for m in sorted(g.eligible))
    return "".join(line + "\n" for line in lines)


def pool_sha256(pool: PoolSnapshot) -> str:
    return hashlib.sha256(serialise_pool(pool).encode("utf-8")).hexdigest()


# ---- seats per group -------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """Seats per group before the seed: fixed seats, and groups whose extra seat the seed decides."""

    fixed: dict[str, int]
    tied: tuple[str, ...] = ()
    tied_seats: int = 0

    def most(self, group: str) -> int:
        """The largest number of seats ``group`` can end up with."""
        return self.fixed[group] + (1 if group in self.tied and self.tied_seats else 0)


def allocate(
    seats: int, active: Mapping[str, int], quotas: Mapping[str, int] | None = None
) -> Allocation:
    """Largest remainder: ``q_g = seats × N_g / N``; floors, then one more seat each to the
    largest fractions. Equal fractions at the cut are left to ``settle_allocation`` (K)."""
    if quotas:
        missing = sorted(set(quotas) - set(active))
        if missing:
            raise DrawError(f"quota for group {missing[0]!r}, which has no active members")
        if sum(quotas.values()) != seats:
            raise DrawError(f"the quotas add up to {sum(quotas.values())} seats, not {seats}")
        return Allocation({g: int(quotas.get(g, 0)) for g in active})
    total = sum(active.values())
    if total == 0:
        raise DrawError("the pool has no active members")
    shares = {g: Fraction(seats * n, total) for g, n in active.items()}
    fixed = {g: floor(q) for g, q in shares.items()}
    left = seats - sum(fixed.values())
    if left == 0:
        return Allocation(fixed)
    fractions = sorted({q - fixed[g] for g, q in shares.items()}, reverse=True)
    for frac in fractions:
        at = [g for g, q in shares.items() if q - fixed[g] == frac]
        if len(at) <= left:
            for g in at:
                fixed[g] += 1
            left -= len(at)
            if left == 0:
                return Allocation(fixed)
        else:
            return Allocation(fixed, tuple(sorted(at)), left)
    return Allocation(fixed)


def settle_allocation(allocation: Allocation, key: bytes, round_id: str) -> dict[str, int]:
    """Give the tied extra seats by ``HMAC-SHA256(K, "<round>|<group>")`` ascending."""
    seats = dict(allocation.fixed)
    order = sorted(allocation.tied, key=lambda g: _hmac(key, f"{round_id}|{g}"))
    for g in order[: allocation.tied_seats]:
        seats[g] += 1
    return seats


def eligible_members(
    active: Sequence[str], served: set[str], most_seats: int
) -> tuple[list[str], bool]:
    """Rotation without replacement: members seated earlier in the cycle are not eligible,
    unless fewer unseated remain than the group's seats — then the cycle restarts."""
    unserved = sorted(m for m in active if m not in served)
    if len(unserved) < most_seats:
        return sorted(active), True
    return unserved, False


# ---- the draw --------------------------------------------------------------------------------


@dataclass
class DrawResult:
    """Ordered lists: ``order`` per group (hmac) or overall (rfc3797); seated and reserve."""

    method: str
    seed: str
    key: str
    seats_per_group: dict[str, int]
    seated: list[tuple[str, str]]  # (group, member id) in seat order
    reserve: dict[str, list[str]]
    order: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "seed": self.seed,
            "key": self.key,
            "seats_per_group": dict(sorted(self.seats_per_group.items())),
            "seated": [[g, m] for g, m in self.seated],
            "reserve": {g: list(v) for g, v in sorted(self.reserve.items())},
            "order": {g: list(v) for g, v in sorted(self.order.items())},
        }


def rfc3797_order(names: Sequence[str], key_string: str, count: int | None = None) -> list[str]:
    """IETF RFC 3797 selection: MD5(index₂ ‖ key ‖ index₂) as a 128-bit big-endian integer,
    modulo the number remaining, picks among those not yet chosen in original list order."""
    if len(names) > RFC3797_MAX_POOL:
        raise DrawError(f"RFC 3797 numbers at most {RFC3797_MAX_POOL} members")
    remaining = list(names)
    chosen = []
    for index in range(len(names) if count is None else min(count, len(names))):
        value = int.from_bytes(rfc3797_digest(index, key_string), "big")
        chosen.append(remaining.pop(value % len(remaining)))
    return chosen


def rfc3797_digest(index: int, key_string: str) -> bytes:
    """Step ``index`` of RFC 3797: MD5 over the index as 2 bytes big-endian, the key string and
    the index again (the RFC prints these digests, so they are checked one by one)."""
    b = index.to_bytes(2, "big")
    return hashlib.md5(b + key_string.encode("ascii") + b, usedforsecurity=False).digest()


def run_draw(pool: PoolSnapshot, method: str, seed: str) -> DrawResult:
    """Seat the panel from the frozen pool and the seed (docs/draw.md)."""
    if method not in METHODS:
        raise DrawError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    key = key_of(seed)
    groups = {g.name: g for g in pool.groups}
    if method == "rfc3797":  # one list: no seats per group, so no allocation (nor quotas)
        members = sorted((m, g.name) for g in pool.groups for m in g.eligible)
        if pool.seats > len(members):
            raise DrawError(f"{pool.seats} seats but only {len(members)} eligible members")
        group_of = dict(members)
        order = rfc3797_order([m for m, _ in members], seed)
        seated = [(group_of[m], m) for m in order[: pool.seats]]
        reserve: dict[str, list[str]] = {g: [] for g in groups}
        for m in order[pool.seats :]:
            reserve[group_of[m]].append(m)
        per_group = {g: sum(1 for sg, _ in seated if sg == g) for g in groups}
        return DrawResult(method, seed, key.hex(), per_group, seated, reserve, {"*": order})
    allocation = allocate(
        pool.seats,
        {g.name: g.active for g in pool.groups},
        {g.name: g.quota for g in pool.groups if g.quota is not None} or None,
    )
    per_group = settle_allocation(allocation, key, pool.round_id)
    seated, reserve, orders = [], {}, {}
    for name in sorted(groups):
        g = groups[name]
        if per_group[name] > len(g.eligible):
            raise DrawError(
                f"group {name!r}: {per_group[name]} seats but {len(g.eligible)} eligible members"
            )
        ordered = sorted(g.eligible, key=lambda m: _hmac(key, f"{pool.round_id}|{name}|{m}"))
        orders[name] = ordered
        seated += [(name, m) for m in ordered[: per_group[name]]]
        reserve[name] = ordered[per_group[name] :]
    return DrawResult(method, seed, key.hex(), per_group, seated, reserve, orders)


def next_reserve(reserve: Sequence[str], used: set[str]) -> str | None:
    """The first member of a reserve list not yet used as a replacement."""
    return next((m for m in reserve if m not in used), None)
