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
from service.store.engine import StoreError, as_utc, utcnow


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


def same_numbers(a: RankingSnapshot, b: RankingSnapshot) -> bool:
    """Same inputs (counted ballots with their comments, seats, vetoes, rules) and same result:
    nothing a reader of the circular could see differs."""
    return a.inputs_sha256 == b.inputs_sha256 and a.result == b.result


def circular_outdated(session: Session, round_id: str) -> bool:
    """True when the round's latest ranking says something its published circular does not."""
    published = latest_circular(session, round_id, "pdf")
    latest = latest_snapshot(session, round_id)
    if published is None or latest is None or latest.id == published.ranking_id:
        return False
    return not same_numbers(get_snapshot(session, published.ranking_id), latest)


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


class AlreadyPublished(StoreError):
    """The round's circular is out; a new version needs staff to say why (a re-issue)."""


def check_reissue(session: Session, round_id: str, reason: str | None) -> str | None:
    """The reason a new version would carry: None for the first version; after that a new
    version replaces what every reader already has, so it is refused without a reason."""
    latest = latest_circular(session, round_id, "pdf")
    if latest is None:
        return None
    reason = (reason or "").strip()
    if not reason:
        issued = as_utc(latest.created_at)
        raise AlreadyPublished(
            f"round {round_id!r} already has circular version {latest.version} "
            f"(published {issued:%Y-%m-%d %H:%M} UTC, sha256 {latest.sha256[:12]}…); a new "
            "version replaces it for every reader, so it is issued only with a reason: "
            "--reissue REASON"
        )
    return reason


def save_circular(
    session: Session,
    round_id: str,
    ranking_id: int,
    files: dict[str, bytes],
    reason: str | None = None,
    actor: str = "cli",
) -> tuple[int, dict[str, str]]:
    """Store the files of a new circular version (one row per format) and audit their hashes
    and, for a re-issue, its reason; returns the version and each format's SHA-256. Earlier
    versions are kept."""
    reason = check_reissue(session, round_id, reason)
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
                reason=reason,
            )
        )
    detail: dict = {"version": version, **{f"{fmt}_sha256": d for fmt, d in hashes.items()}}
    if reason is not None:
        detail |= {"replaces": version - 1, "reason": reason}
    append_audit(session, "circular.publish", detail, round_id, actor=actor)
    return version, hashes
