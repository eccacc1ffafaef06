"""The panel draw's pure algorithms (docs/draw.md), against vectors made
outside this code base: the RFC 3797 worked example as the RFC publishes it, and
``hmac-sha256-v1`` positions computed with the ``openssl`` command line tool.

No database here; the seed strings, quotas and pool fingerprint are in
``test_draw_seeds_quotas_and_fingerprint.py``, the CLI and the store in
``tests/service/test_draw_*.py``.
"""

from __future__ import annotations

import hashlib

import pytest

from jobs.draw.method import (
    GroupSnapshot,
    PoolSnapshot,
    allocate,
    key_of,
    parse_seed,
    rfc3797_digest,
    rfc3797_order,
    run_draw,
    seed_from_numbers,
    settle_allocation,
)

# ---- RFC 3797 §6, the published worked example --------------------------------------------

# The RFC's 25 candidates, numbered 1..25 in this order.
RFC_NAMES = [
    "John",
    "Mary",
    "Bashful",
    "Dopey",
    "Sleepy",
    "Grouchy",
    "Doc",
    "Sneazy",
    "Handsome",
    "Cassandra",
    "Pollyanna",
    "Pendragon",
    "Pandora",
    "Faith",
    "Hope",
    "Charity",
    "Lee",
    "Longsuffering",
    "Chastity",
    "Smith",
    "Pride",
    "Sloth",
    "Envy",
    "Anger",
    "Kasczynski",
]
RFC_KEY = "9319./2.5.8.10.12./9.18.26.34.41.45./"
# The RFC's table: selection order of positions (the first 16 rows it prints).
RFC_ORDER = [17, 7, 2, 16, 25, 23, 8, 24, 19, 13, 22, 5, 18, 9, 1, 4]
# The RFC's "hex value of MD5" column, first three rows.
RFC_MD5 = [
    "990DD0A5692A029A98B5E01AA28F3459",
    "3691E55CB63FCC37914430B2F70B5EC6",
    "FE814EDF564C190AC1D25753979990FA",
]


def test_rfc3797_md5_of_the_first_three_steps_matches_the_rfc() -> None:
    # The project's step (index as 2 bytes big-endian, from 0) against the RFC's printed digests.
    for index, expected in enumerate(RFC_MD5):
        assert rfc3797_digest(index, RFC_KEY).hex().upper() == expected
    # And each digest, read as a 128-bit big-endian integer modulo the names left, is the pick:
    # 25 names, then 24, then 23 (the RFC's table: positions 17, 7, 2).
    remaining = list(range(1, 26))
    picks = [remaining.pop(int(md5, 16) % len(remaining)) for md5 in RFC_MD5]
    assert picks == RFC_ORDER[:3]
    assert rfc3797_order([str(i) for i in range(1, 26)], RFC_KEY, 3) == [str(p) for p in picks]


def test_rfc3797_order_reproduces_the_rfc_published_selection() -> None:
    positions = [str(i) for i in range(1, 26)]
    assert rfc3797_order(positions, RFC_KEY, 16) == [str(p) for p in RFC_ORDER]
    # The RFC's result for its own names: Lee, Doc, Mary, Charity, Kasczynski, ...
    chosen = rfc3797_order(RFC_NAMES, RFC_KEY, 10)
    assert chosen == [RFC_NAMES[p - 1] for p in RFC_ORDER[:10]]
    assert chosen[:5] == ["Lee", "Doc", "Mary", "Charity", "Kasczynski"]


def test_rfc3797_running_further_keeps_the_first_positions() -> None:
    positions = [str(i) for i in range(1, 26)]
    whole = rfc3797_order(positions, RFC_KEY)
    assert sorted(whole, key=int) == positions
    assert whole[:16] == [str(p) for p in RFC_ORDER]
    assert rfc3797_order(positions, RFC_KEY, 5) == whole[:5]


def test_rfc3797_seed_from_the_rfc_lottery_numbers() -> None:
    # RFC 3797 §6: sources 9319; 2 5 12 8 10; 9 18 26 34 41 45 (unsorted as drawn).
    assert seed_from_numbers("9319; 2 5 12 8 10; 9 18 26 34 41 45") == RFC_KEY
    assert parse_seed(RFC_KEY, 3) == [[9319], [2, 5, 8, 10, 12], [9, 18, 26, 34, 41, 45]]


def test_run_draw_rfc3797_mode_reproduces_the_rfc_over_the_pool_ordered_by_id() -> None:
    # Member ids R01..R25 sort in the RFC's list order; two groups interleaved, which the
    # RFC mode must ignore (one list, ordered by member id).
    ids = [f"R{i:02d}" for i in range(1, 26)]
    pool = PoolSnapshot(
        "2026-10",
        10,
        (
            GroupSnapshot("人大代表", 13, tuple(ids[0::2])),
            GroupSnapshot("政协委员", 12, tuple(ids[1::2])),
        ),
    )
    result = run_draw(pool, "rfc3797", RFC_KEY)
    expected = [f"R{p:02d}" for p in RFC_ORDER]
    assert [m for _, m in result.seated] == expected[:10]
    assert result.order["*"][:16] == expected
    group_of = {m: ("人大代表" if int(m[1:]) % 2 else "政协委员") for m in ids}
    assert result.seated == [(group_of[m], m) for m in expected[:10]]
    # Whatever is not seated is the reserve, in the RFC's order, split by group.
    rest = result.order["*"][10:]
    for group in ("人大代表", "政协委员"):
        assert result.reserve[group] == [m for m in rest if group_of[m] == group]
    assert result.seats_per_group == {
        g: sum(1 for m in expected[:10] if group_of[m] == g) for g in ("人大代表", "政协委员")
    }
    assert result.key == hashlib.sha256(RFC_KEY.encode()).hexdigest()


# ---- hmac-sha256-v1: vectors computed with openssl ------------------------------------------

SEED = "9319./2.5.8.10.12./"
# $ printf '%s' '9319./2.5.8.10.12./' | openssl dgst -sha256
K_HEX = "6c3660b34be72847d573c35ba6bd2655764e7997b8accf7c78c118e5651c5a92"

# K=6c3660b34be72847d573c35ba6bd2655764e7997b8accf7c78c118e5651c5a92
# $ printf '%s' '2026-10|人大代表|RD01' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$K
# (the same for each member id; shell and terminal in UTF-8, OpenSSL 3.0.19)
OPENSSL_POS = {
    ("人大代表", "RD01"): "31a77b17a78691b21ae0dc1765aa98641f968285bdc4bc242c054cc6e70a0ce1",
    ("人大代表", "RD02"): "dd4dedfa0cadc87672737f84cf172ef1f7f08d9456d7bc631f8a57f286633f88",
    ("人大代表", "RD03"): "a080057c872285cd8ce6b647733e2d033a184300f248f62d881cd24600b709e2",
    ("人大代表", "RD04"): "f8f9328fb709e0156629b1f877867e929fad058df6b9c4bb2c545eb5ebe63d22",
    ("人大代表", "RD05"): "9891a60473d46168f68bdbe1840c06ee8cf62bad980c9aef392be345936a603a",
    ("人大代表", "RD06"): "0c866c8c9453c5d318b1860630a1f50609984826fd7c422d7dea6aa97fe01c56",
    ("政协委员", "ZX01"): "7841cefea8df36d65d2942bfb775ef881e0675103d6bd263d36f83dd00bca01c",
    ("政协委员", "ZX02"): "8b80dcf08001c6db8cd32ac0e1f5c094c0801815be1de7e67ffad91e56cae5e0",
    ("政协委员", "ZX03"): "f66b133eec7bda3198ccface1c0124c0e45a32700617cd4834b4b13679406731",
    ("政协委员", "ZX04"): "db1f5dbf59a7fd39f0b42ad3dad98444ac5c2875df3e0145cd0f88bc1c56ca59",
    ("政协委员", "ZX05"): "a4513080b29c8f477ce71427c1638a96ea3a66a8dcb38705cb4eef09cb3f425d",
}
# Sorting those hex strings ascending by hand:
#   人大代表: RD06 0c86…, RD01 31a7…, RD05 9891…, RD03 a080…, RD02 dd4d…, RD04 f8f9…
#   政协委员: ZX01 7841…, ZX02 8b80…, ZX05 a451…, ZX04 db1f…, ZX03 f66b…
# Seats 5 over 6 + 5 active: 5·6/11 = 2.73, 5·5/11 = 2.27 → 2 + 2, the extra seat to the larger
# fraction (人大代表) → 3 and 2. No tie, so no group HMAC is needed.
TWO_GROUPS = PoolSnapshot(
    "2026-10",
    5,
    (
        GroupSnapshot("政协委员", 5, ("ZX01", "ZX02", "ZX03", "ZX04", "ZX05")),
        GroupSnapshot("人大代表", 6, ("RD01", "RD02", "RD03", "RD04", "RD05", "RD06")),
    ),
)


def test_hmac_key_is_sha256_of_the_seed_string() -> None:
    assert key_of(SEED).hex() == K_HEX


def test_hmac_sha256_v1_seats_and_reserve_follow_the_openssl_positions() -> None:
    result = run_draw(TWO_GROUPS, "hmac-sha256-v1", SEED)
    assert result.method == "hmac-sha256-v1"
    assert result.seed == SEED
    assert result.key == K_HEX
    assert result.seats_per_group == {"人大代表": 3, "政协委员": 2}
    # Groups in code point order of their names (人 U+4EBA before 政 U+653F).
    assert result.seated == [
        ("人大代表", "RD06"),
        ("人大代表", "RD01"),
        ("人大代表", "RD05"),
        ("政协委员", "ZX01"),
        ("政协委员", "ZX02"),
    ]
    assert result.reserve == {
        "人大代表": ["RD03", "RD02", "RD04"],
        "政协委员": ["ZX05", "ZX04", "ZX03"],
    }
    # The hand-sorted lists above are the openssl digests sorted ascending.
    for group in ("人大代表", "政协委员"):
        by_openssl = sorted((h, m) for (g, m), h in OPENSSL_POS.items() if g == group)
        assert result.order[group] == [m for _, m in by_openssl]


def test_hmac_sha256_v1_does_not_depend_on_the_order_the_pool_is_listed_in() -> None:
    shuffled = PoolSnapshot(
        "2026-10",
        5,
        tuple(
            GroupSnapshot(g.name, g.active, tuple(reversed(g.eligible)))
            for g in reversed(TWO_GROUPS.groups)
        ),
    )
    assert (
        run_draw(shuffled, "hmac-sha256-v1", SEED).as_dict()
        == run_draw(TWO_GROUPS, "hmac-sha256-v1", SEED).as_dict()
    )


def test_hmac_sha256_v1_round_id_is_part_of_every_position() -> None:
    other = PoolSnapshot("2026-11", TWO_GROUPS.seats, TWO_GROUPS.groups)
    assert (
        run_draw(other, "hmac-sha256-v1", SEED).order
        != run_draw(TWO_GROUPS, "hmac-sha256-v1", SEED).order
    )


# A tie at the cut: 人大代表 5 and 乡村干部 5 active, 政协委员 3; 4 seats over 13.
#   4·5/13 = 1.538 (twice), 4·3/13 = 0.923 → floors 1, 1, 0; two seats left: 政协委员 (0.923)
#   gets one, and 人大代表 and 乡村干部 tie (0.538) for the last, decided by
#   HMAC-SHA256(K, "2026-10|<group>") ascending.
TIE_POOL = PoolSnapshot(
    "2026-10",
    4,
    (
        GroupSnapshot("人大代表", 5, ("RD01", "RD02", "RD03", "RD04", "RD05")),
        GroupSnapshot("乡村干部", 5, ("XC01", "XC02", "XC03", "XC04", "XC05")),
        GroupSnapshot("政协委员", 3, ("ZX01", "ZX02", "ZX03")),
    ),
)


@pytest.mark.parametrize(
    ("seed", "group_hmacs", "expected"),
    [
        # $ K=$(printf '%s' '9319./2.5.8.10.12./' | openssl dgst -sha256 | awk '{print $NF}')
        # $ printf '%s' '2026-10|人大代表' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$K
        # $ printf '%s' '2026-10|乡村干部' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$K
        # 15a5… < 739f…: 人大代表 wins, although 乡村干部 (U+4E61) comes first by name.
        (
            "9319./2.5.8.10.12./",
            {
                "人大代表": "15a5b3b285e725f4b5eeaba0d197028ac4d2946503c73af3b8c385a64add4385",
                "乡村干部": "739f05088e9e2ab773f19ba96865cec699c8146b98d81ca8c2d57e2790caa619",
            },
            {"人大代表": 2, "乡村干部": 1, "政协委员": 1},
        ),
        # The same commands with the RFC's key string as the seed
        # (K = 0d42a5bded1bfc584f68b302b1a6204230fc7a6dbf2a6068b567181217797d18):
        # 6cd1… < 7b1a…: 乡村干部 wins.
        (
            "9319./2.5.8.10.12./9.18.26.34.41.45./",
            {
                "人大代表": "7b1a9602f1ccd3b0c1d981285cd607496b3aeee16b610a97efb4ac1632510756",
                "乡村干部": "6cd1793d3648e17d193ce1a34464a89cd2e2e1d0346ca60df0ff1a3e1372d0a3",
            },
            {"人大代表": 1, "乡村干部": 2, "政协委员": 1},
        ),
    ],
)
def test_largest_remainder_tie_goes_by_group_hmac_ascending(
    seed: str, group_hmacs: dict[str, str], expected: dict[str, int]
) -> None:
    winner = min(group_hmacs, key=group_hmacs.__getitem__)
    assert expected[winner] == 2
    allocation = allocate(4, {"人大代表": 5, "乡村干部": 5, "政协委员": 3})
    assert allocation.fixed == {"人大代表": 1, "乡村干部": 1, "政协委员": 1}
    assert set(allocation.tied) == {"人大代表", "乡村干部"}
    assert allocation.tied_seats == 1
    assert allocation.most("人大代表") == allocation.most("乡村干部") == 2
    assert allocation.most("政协委员") == 1
    assert settle_allocation(allocation, key_of(seed), "2026-10") == expected
    result = run_draw(TIE_POOL, "hmac-sha256-v1", seed)
    assert result.seats_per_group == expected
    assert len(result.seated) == 4
    for group, n in expected.items():
        assert [m for g, m in result.seated if g == group] == result.order[group][:n]
