"""``pingyi draw verify``: recompute a draw from its audit record alone, then hold the database
against that record.

Two questions, in this order:
1. Is the record right? The recorded pool hashes to the recorded fingerprint, K is SHA-256 of the
   recorded seed, and re-running the algorithm on the recorded pool and seed gives the recorded
   lists; each replacement took the next unused member of its group's reserve list.
   The eligible lists are recomputed too, from the whole pool and the rotation history frozen in
   the record, and that history from the audit log as it stood when the pool was frozen.
2. Does the database still say what the record says? The draw row, every seat and its holder.
   The pool tables are not read: a draw verifies from its own record whatever is imported later.
The audit log's hash chain is checked too, so the record itself cannot be quietly rewritten.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from jobs.draw.method import DrawError, PoolSnapshot, key_of, next_reserve, pool_sha256, run_draw
from jobs.draw.rotation import derive_pool, frozen_inputs, replay_draws, served_in_cycle
from service.store.audit import audit_entries, sha256_text, verify_audit_chain
from service.store.draws import draw_log, draw_seats, get_draw
from service.store.engine import StoreError
from service.store.rounds import get_round


def _first_list_difference(name: str, recorded: list, computed: list) -> str | None:
    for i, (a, b) in enumerate(zip(recorded, computed, strict=False), start=1):
        if a != b:
            return f"{name}: position {i} is {a} in the record, {b} when recomputed"
    if len(recorded) != len(computed):
        return f"{name}: {len(recorded)} entries in the record, {len(computed)} when recomputed"
    return None


def _records(session: Session, round_id: str) -> tuple[dict, list[dict], dict | None]:
    entries = audit_entries(session, round_id, "draw.")
    draws = [e for e in entries if e.action == "draw.draw"]
    if not draws:
        raise StoreError(f"round {round_id!r} has no draw to verify")
    record = draws[-1].detail
    replacements = [
        e.detail
        for e in entries
        if e.action == "draw.replace" and e.id > draws[-1].id and e.detail["draw"] == record["draw"]
    ]
    announced = next(
        (
            e.detail
            for e in entries
            if e.action == "draw.announce" and e.detail["draw"] == record["draw"]
        ),
        None,
    )
    return record, replacements, announced


def check_record(record: dict, replacements: list[dict], announced: dict | None) -> list[str]:
    """Recompute the draw from the audit record alone; differences in reading order."""
    out = []
    pool = PoolSnapshot.from_dict(record["pool"])
    if announced is not None and announced["pool_sha256"] != record["pool_sha256"]:
        out.append("pool: the drawn pool is not the announced pool (fingerprints differ)")
    actual = pool_sha256(pool)
    if actual != record["pool_sha256"]:
        out.append(
            f"pool: the record's fingerprint is {record['pool_sha256']}, its pool hashes to {actual}"
        )
    key = key_of(record["seed"]).hex()
    if key != record["key"]:
        out.append(f"key: the record says {record['key']}, SHA-256 of the seed is {key}")
    try:
        computed = run_draw(pool, record["method"], record["seed"]).as_dict()
    except DrawError as exc:
        return [*out, f"the recorded draw cannot be recomputed: {exc}"]
    if computed["seats_per_group"] != record["seats_per_group"]:
        out.append(
            f"seats per group: {record['seats_per_group']} in the record, "
            f"{computed['seats_per_group']} when recomputed"
        )
    diff = _first_list_difference(
        "seated", [tuple(s) for s in record["seated"]], [tuple(s) for s in computed["seated"]]
    )
    if diff:
        out.append(diff)
    for group in sorted(set(record["reserve"]) | set(computed["reserve"])):
        diff = _first_list_difference(
            f"reserve of {group}",
            record["reserve"].get(group, []),
            computed["reserve"].get(group, []),
        )
        if diff:
            out.append(diff)
    used = {m for _, m in record["seated"]}
    for rep in replacements:
        expected = next_reserve(computed["reserve"].get(rep["group"], []), used)
        if rep["replacement"] != expected:
            out.append(
                f"replacement of {rep['member']}: {rep['replacement']} in the record, but the "
                f"next unused member of {rep['group']}'s reserve list is {expected}"
            )
        used.add(rep["replacement"])
    return out


def check_database(session: Session, record: dict, replacements: list[dict]) -> list[str]:
    """Hold the draw row, the seats and the pool rows against the record."""
    out = []
    d = get_draw(session, record["draw"])
    if d is None:
        return [f"draw {record['draw']}: in the audit record but not in the database"]
    for name, db_value, rec_value in (
        ("status", d.status, "drawn"),
        ("seed", d.seed, record["seed"]),
        ("key", d.key, record["key"]),
        ("method", d.method, record["method"]),
        ("pool fingerprint", d.pool_sha256, record["pool_sha256"]),
        ("pool snapshot", d.pool, record["pool"]),
        ("seated list", (d.result or {}).get("seated"), record["seated"]),
        ("reserve lists", (d.result or {}).get("reserve"), record["reserve"]),
    ):
        if db_value != rec_value:
            out.append(f"draw table, {name}: differs from the audit record")
    # Walk the replacements in order: a replacement may itself be replaced later.
    expected_active: dict[str, tuple[str, str | None]] = {}
    hashes = record.get("token_sha256") or [None] * len(record["seated"])
    for (group, member), digest in zip(record["seated"], hashes, strict=False):
        expected_active[member] = (group, digest)
    replaced = []
    for rep in replacements:
        expected_active.pop(rep["member"], None)
        expected_active[rep["replacement"]] = (rep["group"], rep.get("token_sha256"))
        replaced.append(rep["member"])
    seats = draw_seats(session, d.id)
    active = Counter((m, g) for m, g, status, _ in seats if status == "active")
    tokens = {m: sha256_text(t) for m, _, status, t in seats if status == "active"}
    for member, (group, digest) in sorted(expected_active.items()):
        if active[(member, group)] != 1:
            out.append(f"seat of {member} ({group}): in the record, no matching active seat")
        elif digest is not None and tokens.get(member) != digest:
            out.append(f"seat of {member} ({group}): its token is not the one recorded")
    for (member, group), n in sorted(active.items()):
        if expected_active.get(member, (None,))[0] != group or n > 1:
            out.append(f"seat of {member} ({group}): active in the database, not in the record")
    for member in sorted(set(replaced)):
        if not any(m == member and status == "replaced" for m, _, status, _ in seats):
            out.append(f"seat of {member}: replaced in the record, not in the database")
    return out


def check_frozen_pool(record: dict, log: list[tuple[str, str | None, dict]] | None) -> list[str]:
    """Recompute the eligible lists from the frozen pool and rotation history in the record,
    and the history from the audit log as it stood when the pool was frozen (``log``).

    The pool tables are never read: a later import (members added, deactivated, moved) must not
    change whether an earlier draw verifies.
    """
    frozen = frozen_inputs(record["pool"])
    if frozen is None:
        return []  # an older record: verify_draw says so in a note
    members, history, out = frozen
    pool = record["pool"]
    groups = pool["groups"]
    quotas = {g["name"]: g["quota"] for g in groups if g.get("quota") is not None} or None
    try:
        derived, _ = derive_pool(
            pool["round"], pool["seats"], members, history, quotas, record["method"]
        )
    except DrawError as exc:
        return [*out, f"pool: the frozen pool gives no eligible pool: {exc}"]
    recorded = {g["name"]: g for g in groups}
    for g in derived.groups:
        got = recorded.get(g.name)
        if got is None:
            out.append(f"pool: group {g.name} has active members but is not in the snapshot")
            continue
        for what, mine in (("active", g.active), ("cycle", g.cycle), ("restarted", g.restarted)):
            if got.get(what) != mine:
                out.append(
                    f"pool, {g.name}: {what} is {got.get(what)} in the record, {mine} from the "
                    "frozen pool and rotation history"
                )
        diff = _first_list_difference(f"eligible of {g.name}", got["eligible"], list(g.eligible))
        if diff:
            out.append(f"pool: {diff} from the frozen pool and rotation history")
    for name in sorted(set(recorded) - {g.name for g in derived.groups}):
        out.append(f"pool: group {name} is in the snapshot but has no active member")
    if log is not None:
        replayed = served_in_cycle(replay_draws(log), pool["round"])
        for name, (cycle, served) in sorted(history.items()):
            was_cycle, was_served = replayed.get(name, (0, set()))
            if (cycle, served) != (was_cycle, was_served):
                extra = sorted(served ^ was_served)
                out.append(
                    f"rotation of {name}: the record says cycle {cycle} and {len(served)} served, "
                    f"the audit log up to entry {pool['rotation']['as_of']} says cycle "
                    f"{was_cycle} and {len(was_served)} served"
                    + (f" (differing: {', '.join(extra)})" if extra else "")
                )
    return out


def verify_draw(session: Session, round_id: str) -> tuple[list[str], list[str]]:
    """(differences, notes): all differences found, first one first (none: the draw
    verifies), and what could not be checked, for a record older than the frozen pool."""
    get_round(session, round_id)
    record, replacements, announced = _records(session, round_id)
    out = []
    ok, broken = verify_audit_chain(session)
    if not ok:
        out.append(f"audit log: the hash chain is broken at entry {broken}")
    out += check_record(record, replacements, announced)
    rotation = record["pool"].get("rotation")
    out += check_frozen_pool(record, draw_log(session, rotation["as_of"]) if rotation else None)
    out += check_database(session, record, replacements)
    notes = []
    if rotation is None:
        notes.append(
            "this draw was recorded before pingyi froze the whole pool with it: its eligible "
            "lists are taken as recorded, not recomputed (docs/draw.md, What verify checks)"
        )
    return out, notes
