"""Results of a round: its ranking snapshots and the versions of its circular.

A snapshot is stored with the audit record of its computation, a circular version with the
audit record of its files' hashes, each in the same transaction as its rows.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models.results import Circular, RankingSnapshot
from service.store.audit import append_audit, canonical_json, sha256_text
from service.store.engine import utcnow


def latest_snapshot(session: Session, round_id: str) -> RankingSnapshot | None:
    """The round's most recent ranking snapshot, if it was ever ranked."""
    return session.scalars(
        select(RankingSnapshot)
        .where(RankingSnapshot.round_id == round_id)
        .order_by(RankingSnapshot.id.desc())
        .limit(1)
    ).first()


def get_snapshot(session: Session, snapshot_id: int) -> RankingSnapshot | None:
    return session.get(RankingSnapshot, snapshot_id)


def save_snapshot(
    session: Session, round_id: str, rules: dict, result: dict, inputs_sha256: str, actor: str
) -> RankingSnapshot:
    """Store a computed ranking whole, after an audit record of its inputs' and result's hashes."""
    entry = append_audit(
        session,
        "ranking.compute",
        {
            "inputs_sha256": inputs_sha256,
            "result_sha256": sha256_text(canonical_json(result)),
            "valid": result["valid"],
            **result["participation"],
        },
        round_id,
        actor,
    )
    snapshot = RankingSnapshot(
        round_id=round_id,
        computed_at=utcnow(),
        rules=rules,
        result=result,
        inputs_sha256=inputs_sha256,
        audit_hash=entry.hash,
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def latest_circular(session: Session, round_id: str, fmt: str) -> Circular | None:
    """The newest version of the round's circular in ``fmt`` (pdf, xlsx or json), if any."""
    return session.scalars(
        select(Circular)
        .where(Circular.round_id == round_id, Circular.format == fmt)
        .order_by(Circular.version.desc())
        .limit(1)
    ).first()


def latest_circular_version(session: Session, round_id: str) -> int | None:
    return session.scalar(select(func.max(Circular.version)).where(Circular.round_id == round_id))


def latest_circular_versions(session: Session) -> dict[str, int]:
    """Each round's newest circular version, for rounds that have one."""
    return dict(
        session.execute(
            select(Circular.round_id, func.max(Circular.version)).group_by(Circular.round_id)
        ).all()
    )


def save_circular(
    session: Session, round_id: str, ranking_id: int, files: dict[str, bytes]
) -> tuple[int, dict[str, str]]:
    """Store the files of a new circular version (one row per format) and audit their hashes;
    returns the version and each format's SHA-256. Earlier versions are kept."""
    version = (latest_circular_version(session, round_id) or 0) + 1
    now = utcnow()
    hashes = {fmt: hashlib.sha256(content).hexdigest() for fmt, content in files.items()}
    for fmt, content in files.items():
        session.add(
            Circular(
                round_id=round_id,
                version=version,
                format=fmt,
                ranking_id=ranking_id,
                sha256=hashes[fmt],
                size=len(content),
                content=content,
                created_at=now,
            )
        )
    append_audit(
        session,
        "circular.publish",
        {"version": version, **{f"{fmt}_sha256": digest for fmt, digest in hashes.items()}},
        round_id,
    )
    return version, hashes
