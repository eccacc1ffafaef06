"""The audit log: append-only and SHA-256 hash-chained, so any later change shows."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from service.models.audit import AuditEntry
from service.store.engine import as_utc, utcnow

GENESIS = "0" * 64


# "ping": the advisory lock that serialises audit appends. Advisory locks belong to the whole
# database, so the lock is keyed by the schema too (the second key): deployments or test runs
# that share one database in separate schemas have separate chains, and must not queue on (or
# deadlock through) each other's appends.
AUDIT_LOCK = 0x70696E67


def canonical_json(data: object) -> str:
    """The serialisation hashes are taken over: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def append_audit(
    session: Session, action: str, detail: dict, round_id: str | None = None, actor: str = "cli"
) -> AuditEntry:
    """Append to the hash chain: hash = SHA-256(prev_hash | canonical entry).

    The chain head commits to everything before it, so a circular that prints the head lets
    anyone holding the log check that nothing was changed afterwards.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Concurrent workers must not both extend the same head: appenders queue on one
        # transaction-scoped advisory lock, and the head is read only once it is held.
        session.execute(
            sql_text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
            {"key": AUDIT_LOCK},
        )
    entry = AuditEntry(
        at=utcnow(),
        actor=actor,
        action=action,
        round_id=round_id,
        detail=detail,
        prev_hash=audit_head(session),
    )
    entry.hash = _entry_hash(entry, entry.prev_hash)
    session.add(entry)
    session.flush()
    return entry


def _entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    """SHA-256(prev_hash | canonical JSON of the entry's time, actor, action, round, detail)."""
    body = {
        "at": as_utc(entry.at).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "round": entry.round_id,
        "detail": entry.detail,
    }
    return sha256_text(prev_hash + "|" + canonical_json(body))


def verify_audit_chain(session: Session) -> tuple[bool, int | None]:
    """Recompute the chain; returns (ok, id of the first entry that does not match)."""
    prev_hash = GENESIS
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        if entry.prev_hash != prev_hash or entry.hash != _entry_hash(entry, prev_hash):
            return False, entry.id
        prev_hash = entry.hash
    return True, None


def audit_entries(session: Session, round_id: str, prefix: str) -> list[AuditEntry]:
    """The round's entries whose action starts with ``prefix`` (e.g. ``draw.``), in order."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.round_id == round_id, AuditEntry.action.startswith(prefix))
            .order_by(AuditEntry.id)
        )
    )


def audit_head(session: Session) -> str:
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    return last.hash if last else GENESIS
