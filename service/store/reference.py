"""Reference data: systems, units and the pool of members, imported, read and fingerprinted."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Collection, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models.reference import Conflict, Group, Member, System, Unit
from service.store.audit import append_audit, canonical_json, sha256_text
from service.store.engine import StoreError


def _system_id(session: Session, name: str, cache: dict[str, int]) -> int:
    if name not in cache:
        system = session.scalars(select(System).where(System.name == name)).first()
        if system is None:
            position = session.scalar(select(func.count(System.id))) or 0
            system = System(name=name, position=position)
            session.add(system)
            session.flush()
        cache[name] = system.id
    return cache[name]


def _spelling(name: str) -> str:
    """A system name with spaces, full-width forms and case ironed out: '法 院' and '法院' are
    the same system typed differently, never two systems."""
    return unicodedata.normalize("NFKC", "".join(name.split())).casefold()


def check_systems(
    session: Session, rows: Iterable, source: str, new_systems: Collection[str] = ()
) -> None:
    """Refuse a unit whose system is not declared, naming the close match.

    Systems are data (docs/rules.md), declared by the first units import or, later, by name
    (``--new-system``): a typo must not silently open a fifth ranking table. The same name
    written differently is refused even when declared, because it can only be a typo.
    """
    declared = set(session.scalars(select(System.name)))
    first = not declared
    for row in rows:
        name = row.system
        if name in declared:
            continue
        where = f"{source}, row {row.row}, column system"
        twin = next((d for d in sorted(declared) if _spelling(d) == _spelling(name)), None)
        if twin is not None:
            raise StoreError(f"{where}: '{name}' is the system '{twin}' written differently")
        if first or name in new_systems:
            declared.add(name)
            continue
        close = difflib.get_close_matches(name, sorted(declared), n=1, cutoff=0.5)
        hint = (
            f"did you mean '{close[0]}'?" if close else f"declared: {'、'.join(sorted(declared))}"
        )
        raise StoreError(
            f"{where}: '{name}' is not a declared system ({hint}); a new system is declared "
            f"with --new-system {name}"
        )


def upsert_units(
    session: Session, rows: Iterable, source: str, new_systems: Collection[str] = ()
) -> tuple[int, int]:
    """Insert or update units by code (importing again never duplicates); returns (new, updated).

    This changes what later rounds are created with, never a round that exists: each round has
    its own copy (``service.store.round_units``). Systems must be declared (``check_systems``)."""
    rows = list(rows)
    check_systems(session, rows, source, new_systems)
    cache: dict[str, int] = {}
    existing = {u.code: u for u in session.scalars(select(Unit))}
    new = updated = 0
    for row in rows:
        system_id = _system_id(session, row.system, cache)
        unit = existing.get(row.code)
        if unit is None:
            unit = Unit(code=row.code, name=row.name, system_id=system_id, kind=row.kind)
            unit.active = row.active
            session.add(unit)
            new += 1
        elif (unit.name, unit.system_id, unit.kind, unit.active) != (
            row.name,
            system_id,
            row.kind,
            row.active,
        ):
            unit.name, unit.system_id = row.name, system_id
            unit.kind, unit.active = row.kind, row.active
            updated += 1
    append_audit(session, "import.units", {"file": source, "new": new, "updated": updated})
    return new, updated


def upsert_pool(session: Session, rows: list, source: str) -> tuple[int, int]:
    """Insert or update pool members by id, with their groups and conflicts."""
    codes = set(session.scalars(select(Unit.code)))
    for row in rows:
        unknown = [c for c in row.conflicts if c not in codes]
        if unknown:
            raise StoreError(
                f"{source}, row {row.row}, column conflicts: unknown unit code {unknown[0]!r}"
                " (import the units first)"
            )
    groups = {g.name: g for g in session.scalars(select(Group))}
    existing = {m.id: m for m in session.scalars(select(Member))}
    new = updated = 0
    for row in rows:
        group = groups.get(row.group)
        if group is None:
            group = groups[row.group] = Group(name=row.group)
            session.add(group)
            session.flush()
        member = existing.get(row.id)
        values = (row.name, group.id, row.township, row.active)
        current = set(
            session.scalars(select(Conflict.unit_code).where(Conflict.member_id == row.id))
        )
        if member is None:
            member = Member(id=row.id, name=row.name, group_id=group.id, township=row.township)
            member.active = row.active
            session.add(member)
            session.flush()
            new += 1
        elif (
            member.name,
            member.group_id,
            member.township,
            member.active,
        ) != values or current != set(row.conflicts):
            member.name, member.group_id, member.township, member.active = values
            updated += 1
        if current != set(row.conflicts):
            for c in session.scalars(select(Conflict).where(Conflict.member_id == row.id)):
                session.delete(c)
            session.flush()
            session.add_all(Conflict(member_id=row.id, unit_code=code) for code in row.conflicts)
    append_audit(session, "import.pool", {"file": source, "new": new, "updated": updated})
    return new, updated


def pool_members(session: Session, active_only: bool = False) -> list[tuple[str, str, bool]]:
    """(member id, group name, active) of each pool member, or of the active ones only."""
    query = select(Member.id, Group.name, Member.active).join(Group, Group.id == Member.group_id)
    if active_only:
        query = query.where(Member.active.is_(True))
    return [(member_id, group, bool(active)) for member_id, group, active in session.execute(query)]


def member_names(session: Session) -> list[str]:
    """Every pool member's name, retired ones too: what a published comment must never show
    (``jobs.circulars.comments.redact_names``). Never logged or returned by the API."""
    return sorted(set(session.scalars(select(Member.name))))


def pool_fingerprint(session: Session) -> str:
    """SHA-256 over the canonical pool: members sorted by id with group, activity and conflicts."""
    groups = {g.id: g.name for g in session.scalars(select(Group))}
    conflicts: dict[str, list[str]] = {}
    for c in session.scalars(select(Conflict)):
        conflicts.setdefault(c.member_id, []).append(c.unit_code)
    rows = [
        [m.id, groups[m.group_id], bool(m.active), sorted(conflicts.get(m.id, []))]
        for m in session.scalars(select(Member).order_by(Member.id))
    ]
    return sha256_text(canonical_json(rows))
