"""Publishing a round: rank it, assemble the circular's plain data, render, store versions.

The renderer gets plain data only (``build_circular``); it never sees the database, tokens or
identities, so nothing identifying an evaluator can reach a circular.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from jobs.circulars.beside import beside
from jobs.circulars.evidence import evidence_of
from jobs.circulars.summary_data import (
    history_rounds,
    months_of,
    pooled_comments,
    previous_of_kind,
    rank_history,
    ranks_of,
    summary_measures,
    veto_origins,
)
from jobs.circulars.wording import chinese_date
from jobs.ranking import rank_round
from jobs.reliability.report import begin_reliability
from service.config import CircularSettings, Config
from service.models.results import RankingSnapshot
from service.models.rounds import Round
from service.store.engine import StoreError, as_utc, utcnow
from service.store.results import check_reissue, latest_circular, save_circular
from service.store.round_units import round_systems
from service.store.rounds import get_round, list_vetoes

logger = logging.getLogger(__name__)

_MONTHLY = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_HALF = re.compile(r"^(\d{4})-H([12])$", re.IGNORECASE)
_QUARTER_NAMES = {"1": "第一季度", "2": "第二季度", "3": "第三季度", "4": "第四季度"}
_ISSUE_DATE = re.compile(r"^\s*(\d{4})年(\d{1,2})月(\d{1,2})日\s*$")


class VetoAfterCircular(StoreError):
    """A veto is dated after the circular that would print it: an official document cannot cite
    a decision not yet made, and printing another date would misstate the decision."""


def period_of(round_id: str) -> tuple[str, str, str]:
    """(period text, year, sequence) from ids like 2026-10, 2026-Q4, 2026-H1; else the id itself."""
    if m := _MONTHLY.match(round_id):
        return f"{m[1]}年{int(m[2])}月", m[1], str(int(m[2]))
    if m := _QUARTER.match(round_id):
        return f"{m[1]}年{_QUARTER_NAMES[m[2]]}", m[1], m[2]
    if m := _HALF.match(round_id):
        return f"{m[1]}年{'上' if m[2] == '1' else '下'}半年", m[1], m[2]
    return round_id, "", round_id


def short_period(round_id: str) -> str:
    """A period as a chart or table column names it: 7月, 第三季度, 上半年 (the year dropped)."""
    period, year, _ = period_of(round_id)
    return period.removeprefix(f"{year}年") if year else period


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
        "date": settings.date or chinese_date(local.isoformat()),
        "period": period,
    }


def issue_date(text: str) -> date | None:
    """The circular's date (成文日期) as a date, from its printed text; None for a text that is
    not ``YYYY年M月D日`` (a date written in Chinese numerals is printed as set, and not checked)."""
    m = _ISSUE_DATE.match(text)
    return date(int(m[1]), int(m[2]), int(m[3])) if m else None


def check_veto_dates(round_id: str, vetoes: list[dict], issued: str) -> None:
    """Refuse a circular dated before a veto it prints (docs/circulars.md, "Veto dates"),
    naming the unit and both dates and the two ways out."""
    day = issue_date(issued)
    if day is None:
        logger.warning("circular %s: issue date %r is not YYYY年M月D日; veto dates not checked",
                       round_id, issued)  # fmt: skip
        return
    for veto in vetoes:
        decided = date.fromisoformat(veto["at"])
        if decided > day:
            where = veto.get("round") or round_id
            raise VetoAfterCircular(
                f"round {round_id}: the veto of {veto['unit']} (round {where}) is dated "
                f"{decided.isoformat()}, after the circular's date {day.isoformat()}; publish "
                f"with --date {decided.isoformat()} or later, or if the decision was made "
                f"earlier, record it with its date (veto remove, then veto add --date)"
            )


def _reissue(session: Session, round_id: str, reason: str | None, local) -> dict | None:
    """What a re-issued circular says about the version it replaces, printed under its title."""
    if reason is None:
        return None
    replaced = latest_circular(session, round_id, "pdf")
    if replaced is None:
        return None
    return {
        "version": replaced.version + 1,
        "replaces": replaced.version,
        "replaces_at": local(replaced.created_at),
        "reason": reason,
    }


def build_circular(
    session: Session,
    round_id: str,
    snapshot: RankingSnapshot,
    config: Config,
    reason: str | None = None,
) -> dict:
    """The circular's plain data (the contract of ``jobs.circulars.render.render_pdf``);
    ``reason``: why this version replaces a published one (a re-issue)."""
    rnd = get_round(session, round_id)
    now = utcnow()
    tz = ZoneInfo(config.circular.timezone)

    def local(moment: datetime | None) -> str | None:
        """Times in the circular are the issuing body's local time, with their offset."""
        return None if moment is None else as_utc(moment).astimezone(tz).isoformat()

    # The report's analysis runs on its own thread while the rest is read from the database.
    finish_report = begin_reliability(session, snapshot, config.rules)
    systems = round_systems(session, round_id)
    vetoes = [
        {"unit": v.unit_code, "reason": v.reason, "by": v.by, "at": v.decided_on.isoformat()}
        for v in list_vetoes(session, round_id)
    ]
    history = rank_history(session, history_rounds(session, rnd), short_period)
    evidence = evidence_of(session, rnd, snapshot)
    comments = pooled_comments(session, [round_id])
    report = finish_report()
    circular = {
        "round": {
            "id": rnd.id,
            "kind": rnd.kind,
            "period": period_of(rnd.id)[0],
            "panel_method": rnd.panel_method,
            "opens_at": local(rnd.opens_at),
            "closes_at": local(rnd.closes_at),
        },
        "issuer": issuer(config.circular.for_kind(rnd.kind), round_id, now),
        "ranking": snapshot.result,
        "systems": [s for s in systems if any(u["system"] == s for u in snapshot.result["units"])],
        "vetoes": vetoes,
        "comments": comments,
        "min_comments": config.circular.min_comments,
        "rules": snapshot.rules,
        "audit_hash": snapshot.audit_hash,
        "inputs_sha256": snapshot.inputs_sha256,
        "generated_at": local(now),
        "reissue": _reissue(session, round_id, reason, local),
        # Ranks in system month by month, for the chart (a month: only once earlier months exist).
        "history": history if len(history["periods"]) > 1 else None,
        # How sure the ranking is (docs/reliability.md): public numbers only, never the flags.
        "reliability": None if report is None else report.report,
        # What anyone needs to recompute the official result from the JSON alone
        # (docs/verify.md): histograms, label counts, the decisions and parts it rests on.
        "evidence": evidence,
    }
    if rnd.kind != "monthly":
        circular.update(_summary_parts(session, rnd, snapshot.result))
    check_veto_dates(rnd.id, circular["vetoes"], circular["issuer"]["date"])
    return circular


def _summary_parts(session: Session, rnd: Round, result: dict) -> dict:
    """What a quarter's or half year's circular adds: its constituents' ranks, the previous
    summary's for movement, comments pooled over its months (and the leaders' own), the
    rectification measures, and where each veto was decided."""
    previous = previous_of_kind(session, rnd)
    watched = None
    if rnd.kind == "semiannual":  # the half year lists the measures of the units it names
        watched = {*result.get("bottom", ()), *result.get("vetoed", ())}
    months = [r.id for r in months_of(session, rnd)]
    return {
        "constituents": [
            {"id": pid, "period": short_period(pid), "ranks": ranks_of(session, pid) or {}}
            for pid in rnd.parts
        ],
        "previous": None
        if previous is None
        else {
            "id": previous.id,
            "period": period_of(previous.id)[0],
            "ranks": ranks_of(session, previous.id) or {},
        },
        "comments": pooled_comments(session, [*months, rnd.id]),
        "measures": summary_measures(session, rnd, watched),
        "vetoes": veto_origins(session, rnd, result.get("vetoed", ())),
    }


@dataclass
class Published:
    """What one publication produced; files are also stored in the ``circulars`` table."""

    version: int
    pdf: bytes
    pdf_sha256: str
    xlsx: bytes | None
    json: bytes
    circular: dict


def publish_round(
    session: Session,
    round_id: str,
    config: Config,
    xlsx: bool = True,
    reason: str | None = None,
    force: bool = False,
    actor: str = "cli",
) -> Published:
    """Rank, render and store a new version of the round's circular (PDF, XLSX, JSON).

    The first version needs no reason; any later one replaces what readers already have, so it
    is refused before anything is computed unless ``reason`` says why (``--reissue``). ``force``
    ranks a round with no ballots (``jobs.ranking.NothingToRank``)."""
    reason = check_reissue(session, round_id, reason)
    _load_renderers_meanwhile()
    _, snapshot = rank_round(session, round_id, config.rules, force=force)
    return render_snapshot(session, round_id, snapshot, config, xlsx, reason, actor)


def _load_renderers_meanwhile() -> None:
    """Import the PDF and XLSX renderers (WeasyPrint, openpyxl: about 0.7 s) on a thread of
    their own while the ranking runs, most of which is waiting for the database. They are
    imported where they are used (``render_snapshot``), so that the web app starts without
    them; that import then finds them loaded, or waits for this one to finish."""

    def load() -> None:
        import jobs.circulars.render
        import jobs.circulars.xlsx  # noqa: F401

    threading.Thread(target=load, name="load-renderers", daemon=True).start()


def render_snapshot(
    session: Session,
    round_id: str,
    snapshot: RankingSnapshot,
    config: Config,
    xlsx: bool = True,
    reason: str | None = None,
    actor: str = "cli",
) -> Published:
    """Render and store a new circular version from an existing ranking snapshot; a version
    after the first needs ``reason`` (``service.store.results.check_reissue``). ``actor`` is
    who the audit log names (the CLI, the API or a job)."""
    from jobs.circulars.render import render_pdf
    from jobs.circulars.xlsx import render_xlsx

    reason = check_reissue(session, round_id, reason)  # refused before the cost of rendering
    circular = build_circular(session, round_id, snapshot, config, reason)
    # The JSON first: the PDF prints its SHA-256 (the colophon), so that a reader holding both
    # can tell it is this file that recomputes (pingyi verify-circular --pdf, docs/verify.md).
    public = {k: v for k, v in circular.items() if k != "comments"}
    json_bytes = json.dumps(public, ensure_ascii=False, indent=2).encode("utf-8")
    named = {**circular["round"], "json_sha256": hashlib.sha256(json_bytes).hexdigest()}
    # The XLSX in a forked child while this process lays out the PDF (jobs.circulars.beside).
    workbook = beside(render_xlsx, circular) if xlsx else None
    try:
        pdf = render_pdf(
            {**circular, "round": named}, comment_threshold=config.circular.min_comments
        )
    except BaseException:
        if workbook is not None:
            with contextlib.suppress(Exception):
                workbook()  # reap the child; the PDF's error is the one to report
        raise
    xlsx_bytes = workbook() if workbook is not None else None
    files = {"pdf": pdf, "json": json_bytes}
    if xlsx_bytes is not None:
        files["xlsx"] = xlsx_bytes
    version, hashes = save_circular(session, round_id, snapshot.id, files, reason, actor)
    logger.info("published circular v%d of round %s (%d bytes PDF)", version, round_id, len(pdf))
    return Published(version, pdf, hashes["pdf"], xlsx_bytes, json_bytes, circular)
