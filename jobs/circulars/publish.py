"""Publishing a round: rank it, assemble the circular's plain data, render, store versions.

The renderer gets plain data only (``build_document``); it never sees the database, tokens or
identities, so nothing identifying an evaluator can reach a circular.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs.ranking import load_round, rank_round
from service.config import CircularSettings, Config
from service.models.ballots import Ballot, Comment
from service.models.results import Circular, RankingSnapshot
from service.models.rounds import Veto
from service.store.audit import append_audit
from service.store.engine import as_utc, utcnow
from service.store.rounds import get_round

logger = logging.getLogger(__name__)

_MONTHLY = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_HALF = re.compile(r"^(\d{4})-H([12])$", re.IGNORECASE)
_QUARTER_NAMES = {"1": "第一季度", "2": "第二季度", "3": "第三季度", "4": "第四季度"}


def period_of(round_id: str) -> tuple[str, str, str]:
    """(period text, year, sequence) from ids like 2026-10, 2026-Q4, 2026-H1; else the id itself."""
    if m := _MONTHLY.match(round_id):
        return f"{m[1]}年{int(m[2])}月", m[1], str(int(m[2]))
    if m := _QUARTER.match(round_id):
        return f"{m[1]}年{_QUARTER_NAMES[m[2]]}", m[1], m[2]
    if m := _HALF.match(round_id):
        return f"{m[1]}年{'上' if m[2] == '1' else '下'}半年", m[1], m[2]
    return round_id, "", round_id


def chinese_date(moment: datetime) -> str:
    return f"{moment.year}年{moment.month}月{moment.day}日"


def issuer(settings: CircularSettings, round_id: str, now: datetime) -> dict:
    period, year, seq = period_of(round_id)
    local = now.astimezone(ZoneInfo(settings.timezone))
    fields = {"period": period, "year": year or local.year, "seq": seq, "round": round_id}
    return {
        "body": settings.body,
        "doc_number": settings.doc_number.format(**fields),
        "title": settings.title.format(**fields),
        "recipients": settings.recipients,
        "cc": settings.cc,
        "date": settings.date or chinese_date(local),
        "period": period,
    }


def pooled_comments(session: Session, round_id: str) -> dict[str, list[str]]:
    """Comments from counted ballots only, recused units left out; no link to any ballot."""
    data = load_round(session, round_id)
    recusals = {s.token: s.recusals for s in data.seats}
    pooled: dict[str, list[str]] = {}
    for unit, text, token in session.execute(
        select(Comment.unit_code, Comment.text, Ballot.token)
        .join(Ballot, Ballot.id == Comment.ballot_id)
        .where(Ballot.round_id == round_id, Ballot.status == "accepted")
    ):
        if unit not in recusals.get(token, frozenset()):
            pooled.setdefault(unit, []).append(text)
    return {unit: sorted(texts) for unit, texts in pooled.items()}


def build_document(
    session: Session, round_id: str, snapshot: RankingSnapshot, config: Config
) -> dict:
    """The circular's plain data (the contract of ``jobs.circulars.render.render_pdf``)."""
    rnd = get_round(session, round_id)
    now = utcnow()
    tz = ZoneInfo(config.circular.timezone)

    def local(moment: datetime | None) -> str | None:
        """Times in the circular are the issuing body's local time, with their offset."""
        return None if moment is None else as_utc(moment).astimezone(tz).isoformat()

    systems = list(dict.fromkeys(load_round(session, round_id).systems))
    vetoes = [
        {"unit": v.unit_code, "reason": v.reason, "by": v.by, "at": local(v.at)}
        for v in session.scalars(select(Veto).where(Veto.round_id == round_id).order_by(Veto.at))
    ]
    return {
        "round": {
            "id": rnd.id,
            "kind": rnd.kind,
            "period": period_of(rnd.id)[0],
            "panel_method": rnd.panel_method,
            "opens_at": local(rnd.opens_at),
            "closes_at": local(rnd.closes_at),
        },
        "issuer": issuer(config.circular, round_id, now),
        "ranking": snapshot.result,
        "systems": [s for s in systems if any(u["system"] == s for u in snapshot.result["units"])],
        "vetoes": vetoes,
        "comments": pooled_comments(session, round_id),
        "min_comments": config.circular.min_comments,
        "rules": snapshot.rules,
        "audit_hash": snapshot.audit_hash,
        "inputs_sha256": snapshot.inputs_sha256,
        "generated_at": local(now),
    }


@dataclass
class Published:
    """What one publication produced; files are also stored in the ``circulars`` table."""

    version: int
    pdf: bytes
    pdf_sha256: str
    xlsx: bytes | None
    json: bytes
    document: dict


def publish_round(session: Session, round_id: str, config: Config, xlsx: bool = True) -> Published:
    """Rank, render and store a new version of the round's circular (PDF, XLSX, JSON)."""
    _, snapshot = rank_round(session, round_id, config.rules)
    return render_snapshot(session, round_id, snapshot, config, xlsx)


def render_snapshot(
    session: Session, round_id: str, snapshot: RankingSnapshot, config: Config, xlsx: bool = True
) -> Published:
    """Render and store a new circular version from an existing ranking snapshot."""
    from jobs.circulars.render import render_pdf
    from jobs.circulars.xlsx import render_xlsx

    doc = build_document(session, round_id, snapshot, config)
    pdf = render_pdf(doc, comment_threshold=config.circular.min_comments)
    xlsx_bytes = render_xlsx(doc) if xlsx else None
    public = {k: v for k, v in doc.items() if k != "comments"}
    json_bytes = json.dumps(public, ensure_ascii=False, indent=2).encode("utf-8")
    version = (
        session.scalar(select(func.max(Circular.version)).where(Circular.round_id == round_id)) or 0
    ) + 1
    now = utcnow()
    files = {"pdf": pdf, "json": json_bytes}
    if xlsx_bytes is not None:
        files["xlsx"] = xlsx_bytes
    for fmt, content in files.items():
        session.add(
            Circular(
                round_id=round_id,
                version=version,
                format=fmt,
                ranking_id=snapshot.id,
                sha256=_sha256_bytes(content),
                size=len(content),
                content=content,
                created_at=now,
            )
        )
    append_audit(
        session,
        "circular.publish",
        {"version": version, **{f"{fmt}_sha256": _sha256_bytes(c) for fmt, c in files.items()}},
        round_id,
    )
    logger.info("published circular v%d of round %s (%d bytes PDF)", version, round_id, len(pdf))
    return Published(version, pdf, _sha256_bytes(pdf), xlsx_bytes, json_bytes, doc)


def _sha256_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
