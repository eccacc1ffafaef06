"""The panel draw's inputs (docs/draw.md): seed strings, seats per group
(largest remainder, fixed quotas, refusals), rotation and the reserve, and the published pool
fingerprint. No database here.
"""

from __future__ import annotations

import hashlib

import pytest

from jobs.draw.method import (
    DrawError,
    GroupSnapshot,
    PoolSnapshot,
    allocate,
    eligible_members,
    key_of,
    next_reserve,
    parse_seed,
    pool_sha256,
    run_draw,
    seed_from_numbers,
    serialise_pool,
    settle_allocation,
)
from tests.jobs.test_draw_order_vectors import SEED, TWO_GROUPS

# ---- seed strings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "sources", "message"),
    [
        ("9319./2.5.12.8.10./", None, "sorted ascending (12 comes before 8)"),
        ("9319./02.5./", None, "'02' has a leading zero"),
        ("9319./2.5.8.10.12.", None, "must end with '/'"),
        ("9319./2.5.8.10.12./9.18", None, "must end with '/'"),
        ("9319./2.a.8./", None, "unexpected character 'a'"),
        ("9319./2,5,8./", None, "unexpected character ','"),
        ("9319/", None, "followed by '.'"),
        ("9319./2.5./", 3, "the seed has 2 sources, the announcement names 3"),
        ("9319./", 2, "the seed has 1 sources, the announcement names 2"),
        ("", None, "empty"),
        (" 9319./", None, "spaces"),
    ],
)
def test_bad_seed_strings_say_what_is_wrong(seed: str, sources: int | None, message: str) -> None:
    with pytest.raises(DrawError) as info:
        parse_seed(seed, sources)
    assert message in str(info.value)


def test_good_seed_strings_parse() -> None:
    assert parse_seed("0./") == [[0]]
    assert parse_seed("3.3.7./", 1) == [[3, 3, 7]]  # 福彩3D digits may repeat
    assert parse_seed("9319./2.5.8.10.12./", 2) == [[9319], [2, 5, 8, 10, 12]]


def test_seed_from_numbers_builds_the_canonical_string() -> None:
    assert seed_from_numbers("9319; 2 5 12 8 10") == "9319./2.5.8.10.12./"
    # Commas (ASCII or full width), the full-width semicolon and extra spaces are accepted.
    assert seed_from_numbers(" 45, 9 ,18；2，1 ; ") == "9.18.45./1.2./"
    assert seed_from_numbers("07 3") == "3.7./"  # as written on a ticket; no leading zeros
    built = seed_from_numbers("79 3 12; 9 31 5")
    assert parse_seed(built, 2) == [[3, 12, 79], [5, 9, 31]]


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "no lottery numbers"), ("1 2; 3 x", "source 2"), ("1 -2", "negative")],
)
def test_seed_from_numbers_refuses_what_is_not_lottery_numbers(text: str, message: str) -> None:
    with pytest.raises(DrawError) as info:
        seed_from_numbers(text)
    assert message in str(info.value)


# ---- seats per group --------------------------------------------------------------------------


def test_largest_remainder_worked_by_hand() -> None:
    # 100 seats over 300 members: 100·95/300 = 31.67, 25, 6, 23.33, 14 → floors 31+25+6+23+14
    # = 99, the last seat to the largest fraction (0.67, 人大代表) → 32/25/6/23/14.
    active = {"人大代表": 95, "政协委员": 75, "特约监督员": 18, "乡村干部": 70, "群众代表": 42}
    allocation = allocate(100, active)
    assert allocation.tied == ()
    assert allocation.fixed == {
        "人大代表": 32,
        "政协委员": 25,
        "特约监督员": 6,
        "乡村干部": 23,
        "群众代表": 14,
    }
    assert settle_allocation(allocation, key_of(SEED), "2026-10") == allocation.fixed


def test_largest_remainder_two_extra_seats_and_exact_shares() -> None:
    # 11 seats over 7/7/6 = 20: 3.85, 3.85, 3.3 → floors 3+3+3 = 9; the two equal 0.85 fractions
    # get the two seats left, so nothing is left to the seed.
    allocation = allocate(11, {"A": 7, "B": 7, "C": 6})
    assert (allocation.fixed, allocation.tied) == ({"A": 4, "B": 4, "C": 3}, ())
    # 7 seats over 4/3/2 = 9: 3.11, 2.33, 1.56 → floors 3+2+1 = 6; the seat left to C (0.56).
    assert allocate(7, {"A": 4, "B": 3, "C": 2}).fixed == {"A": 3, "B": 2, "C": 2}
    # Exact shares leave nothing to decide.
    assert allocate(6, {"A": 4, "B": 2}).fixed == {"A": 4, "B": 2}


def test_fixed_quotas_are_used_as_given() -> None:
    allocation = allocate(10, {"人大代表": 6, "政协委员": 5}, {"人大代表": 7, "政协委员": 3})
    assert allocation.fixed == {"人大代表": 7, "政协委员": 3}
    assert allocation.tied == ()
    pool = PoolSnapshot(
        "2026-10",
        5,
        tuple(
            GroupSnapshot(g.name, g.active, g.eligible, {"人大代表": 1, "政协委员": 4}[g.name])
            for g in TWO_GROUPS.groups
        ),
    )
    result = run_draw(pool, "hmac-sha256-v1", SEED)
    assert result.seats_per_group == {"人大代表": 1, "政协委员": 4}
    # Same positions as without quotas, just a different cut.
    assert result.seated == [
        ("人大代表", "RD06"),
        ("政协委员", "ZX01"),
        ("政协委员", "ZX02"),
        ("政协委员", "ZX05"),
        ("政协委员", "ZX04"),
    ]
    assert result.reserve == {
        "人大代表": ["RD01", "RD05", "RD03", "RD02", "RD04"],
        "政协委员": ["ZX03"],
    }


def test_quotas_that_do_not_add_up_are_refused() -> None:
    with pytest.raises(DrawError, match="add up to 9 seats, not 10"):
        allocate(10, {"人大代表": 6, "政协委员": 5}, {"人大代表": 6, "政协委员": 3})


def test_a_quota_for_a_group_without_members_is_refused() -> None:
    with pytest.raises(DrawError, match="群众代表"):
        allocate(10, {"人大代表": 6, "政协委员": 5}, {"人大代表": 5, "政协委员": 3, "群众代表": 2})


def test_an_empty_pool_is_refused() -> None:
    with pytest.raises(DrawError, match="no active members"):
        allocate(3, {"人大代表": 0})


def test_more_seats_than_eligible_in_a_group_is_refused() -> None:
    pool = PoolSnapshot("2026-10", 5, (GroupSnapshot("人大代表", 6, ("RD01", "RD02")),))
    with pytest.raises(DrawError, match="5 seats but 2 eligible"):
        run_draw(pool, "hmac-sha256-v1", SEED)
    with pytest.raises(DrawError, match="5 seats but only 2 eligible"):
        run_draw(pool, "rfc3797", SEED)


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(DrawError, match="unknown method 'md5'"):
        run_draw(TWO_GROUPS, "md5", SEED)


# ---- rotation and reserve helpers --------------------------------------------------------------


def test_rotation_excludes_served_members_until_too_few_remain() -> None:
    active = ["P05", "P01", "P03", "P02", "P04"]
    assert eligible_members(active, set(), 2) == (["P01", "P02", "P03", "P04", "P05"], False)
    assert eligible_members(active, {"P01", "P02"}, 2) == (["P03", "P04", "P05"], False)
    assert eligible_members(active, {"P01", "P02", "P03"}, 2) == (["P04", "P05"], False)
    # One unseated member left for two seats: the cycle restarts with everyone.
    assert eligible_members(active, {"P01", "P02", "P03", "P04"}, 2) == (
        ["P01", "P02", "P03", "P04", "P05"],
        True,
    )


def test_next_reserve_skips_members_already_used() -> None:
    assert next_reserve(["A", "B", "C"], set()) == "A"
    assert next_reserve(["A", "B", "C"], {"A"}) == "B"
    assert next_reserve(["A", "B", "C"], {"A", "B", "C"}) is None


# ---- the pool fingerprint ------------------------------------------------------------------------


def test_pool_fingerprint_is_sha256_of_the_documented_serialisation() -> None:
    # Group names whose code point order (乡 U+4E61 < 人 U+4EBA) differs from pinyin order, ids
    # whose code point order ("P10" < "P9") differs from numeric order, one quota, members listed
    # out of order: the serialisation must sort all of it.
    pool = PoolSnapshot(
        "2026-10",
        4,
        (
            GroupSnapshot("人大代表", 3, ("P9", "P10"), None, cycle=2, restarted=True),
            GroupSnapshot("乡村干部", 4, ("Q2", "P11", "Q1"), 2),
        ),
    )
    text = (
        "pingyi-pool-v1\n"
        "round\t2026-10\n"
        "seats\t4\n"
        "group\t乡村干部\t4\t2\n"
        "group\t人大代表\t3\t-\n"
        "member\t乡村干部\tP11\n"
        "member\t乡村干部\tQ1\n"
        "member\t乡村干部\tQ2\n"
        "member\t人大代表\tP10\n"
        "member\t人大代表\tP9\n"
    )
    assert serialise_pool(pool) == text
    assert pool_sha256(pool) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_pool_fingerprint_changes_with_any_published_input() -> None:
    base = pool_sha256(TWO_GROUPS)
    changed = [
        PoolSnapshot("2026-11", 5, TWO_GROUPS.groups),
        PoolSnapshot("2026-10", 4, TWO_GROUPS.groups),
        PoolSnapshot(
            "2026-10",
            5,
            (TWO_GROUPS.groups[0], GroupSnapshot("人大代表", 7, TWO_GROUPS.groups[1].eligible)),
        ),
        PoolSnapshot(
            "2026-10",
            5,
            (TWO_GROUPS.groups[0], GroupSnapshot("人大代表", 6, TWO_GROUPS.groups[1].eligible[1:])),
        ),
        PoolSnapshot(
            "2026-10",
            5,
            (TWO_GROUPS.groups[0], GroupSnapshot("人大代表", 6, TWO_GROUPS.groups[1].eligible, 3)),
        ),
    ]
    assert len({base, *(pool_sha256(p) for p in changed)}) == 1 + len(changed)


def test_snapshot_round_trips_through_its_dict() -> None:
    pool = PoolSnapshot(
        "2026-10",
        4,
        (
            GroupSnapshot("人大代表", 3, ("P1", "P2"), 1, 3, True),
            GroupSnapshot("乡村干部", 2, ("Q1",)),
        ),
    )
    assert PoolSnapshot.from_dict(pool.as_dict()) == pool
    assert pool_sha256(PoolSnapshot.from_dict(pool.as_dict())) == pool_sha256(pool)
