"""HTTP API (docs/service.md): health, metrics, status, rounds, rankings, circulars, jobs.

Viewers read and download here; what admins do to a round (close, veto, re-issue, draw) is in
service/web/actions.py. Nothing here serves who holds a seat: rankings and circulars are
aggregates, and the status counts ballots, never evaluators.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, jsonify, url_for

from service.context import Context
from service.metrics import render as render_metrics
from service.models.rounds import Round
from service.models.service import RoundWork
from service.store.ballots import status_counts
from service.store.engine import as_utc
from service.store.reliability import report_for, with_uncertainty
from service.store.results import (
    circular_outdated,
    latest_circular,
    latest_circular_version,
    latest_snapshot,
)
from service.store.rounds import (
    find_round,
    list_rounds,
    open_parts,
)
from service.store.status import failure_counts, round_progress
from service.store.work import get_work
from service.web.auth import require
from service.web.status import service_status

logger = logging.getLogger(__name__)
api = Blueprint("api", __name__)


def context() -> Context:
    """The app's shared context (config, engine, queue)."""
    return current_app.extensions["pingyi"]


def enqueue_after_commit(queue: str, func: str, *args, **options):
    """Enqueue work whose need is already committed. With Redis down the answer must not be an
    error: the database says the work is owed and the scheduler's sweeper enqueues it later."""
    try:
        return context().queue.enqueue(queue, func, *args, **options)
    except Exception as exc:
        if context().queue.inline:
            raise
        logger.warning(
            "enqueue of %s failed (%s); the sweeper will do it", func, exc.__class__.__name__
        )
        return None


@api.get("/healthz")
def healthz():
    """Liveness: the process answers; no dependency is touched (a Redis blip is no restart)."""
    return jsonify(status="ok")


@api.get("/readyz")
def readyz():
    checks = {"database": context().database_ok(), "redis": context().queue.ping()}
    ok = all(checks.values())
    return jsonify(status="ready" if ok else "unavailable", checks=checks), 200 if ok else 503


@api.get("/metrics")
def metrics():
    def ballots() -> dict[str, int]:
        try:
            with context().engine.connect() as conn:
                return dict(status_counts(conn))
        except Exception:
            return {}

    def depths() -> dict[str, int]:
        try:
            return context().queue.depths()
        except Exception:
            return {}

    def failures() -> dict | None:
        try:
            with context().engine.connect() as conn:
                return failure_counts(conn)
        except Exception:
            return None

    body, content_type = render_metrics(ballots, depths, failures)
    return Response(body, content_type=content_type)


@api.get("/api/v1/status")
@require("viewer")
def status():
    with context().session() as session:
        return jsonify(service_status(session, context().queue))


def round_json(session, rnd: Round) -> dict:
    latest = latest_circular_version(session, rnd.id)
    return {
        "id": rnd.id,
        "kind": rnd.kind,
        "status": rnd.status,
        "parts": list(rnd.parts or ()),
        "waiting_for": open_parts(session, rnd),
        "opens_at": rnd.opens_at and as_utc(rnd.opens_at).isoformat(),
        "closes_at": rnd.closes_at and as_utc(rnd.closes_at).isoformat(),
        "progress": round_progress(session, rnd.id),
        "circular_version": latest,
        # The ranking changed after the published circular (which is never replaced silently):
        # staff decide whether to re-issue it, with a reason.
        "circular_outdated": circular_outdated(session, rnd.id),
        "links": {
            "self": url_for("api.round_detail", round_id=rnd.id),
            "ranking": url_for("api.ranking", round_id=rnd.id),
            "circular_pdf": url_for("api.circular", round_id=rnd.id, fmt="pdf"),
            "circular_xlsx": url_for("api.circular", round_id=rnd.id, fmt="xlsx"),
        },
    }


def attachment(filename: str) -> str:
    """A download's Content-Disposition (RFC 6266): the name exactly, as UTF-8 in
    ``filename*`` (RFC 5987; round ids may be Chinese), and an ASCII ``filename`` for old
    clients with anything else replaced by "_". Nothing of the name reaches the header raw, so
    a quote or CR LF in a round id from a database older than the id check cannot break it."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _get_round(session, round_id: str) -> Round:
    rnd = find_round(session, round_id)
    if rnd is None:
        abort(404, description=f"unknown round {round_id!r}")
    return rnd


@api.get("/api/v1/rounds")
@require("viewer")
def rounds():
    with context().session() as session:
        return jsonify(rounds=[round_json(session, r) for r in list_rounds(session)])


@api.get("/api/v1/rounds/<round_id>")
@require("viewer")
def round_detail(round_id: str):
    with context().session() as session:
        return jsonify(round_json(session, _get_round(session, round_id)))


def _pending(work: RoundWork | None) -> bool:
    return (
        work is not None
        and work.ranking_requested_at is not None
        and (work.ranking_done_for is None or work.ranking_done_for < work.ranking_requested_at)
    )


@api.get("/api/v1/rounds/<round_id>/ranking")
@require("viewer")
def ranking(round_id: str):
    with context().session() as session:
        _get_round(session, round_id)
        snapshot = latest_snapshot(session, round_id)
        if snapshot is None:
            if _pending(get_work(session, round_id)):
                return jsonify(status="computing", message="the ranking is being computed"), 202
            abort(404, description=f"round {round_id!r} has not been ranked yet")
        # How sure each rank is, once the render job has computed it (docs/reliability.md);
        # counts only: the per-ballot flags are at …/quality, for admins.
        report = report_for(session, snapshot.id)
        response = jsonify(with_uncertainty(snapshot.result, report and report.report))
        response.headers["X-Pingyi-Computed-At"] = as_utc(snapshot.computed_at).isoformat()
        return response


@api.get("/api/v1/rounds/<round_id>/quality")
@require("admin")
def quality(round_id: str):
    """Ballot-quality flags of the latest ranking, by seat: they describe evaluators'
    behaviour, so admins only; they never void a ballot."""
    with context().session() as session:
        _get_round(session, round_id)
        snapshot = latest_snapshot(session, round_id)
        report = None if snapshot is None else report_for(session, snapshot.id)
        if report is None:
            abort(404, description=f"round {round_id!r}: no quality report yet (it is made "
                  "with the circular, or by pingyi quality)")  # fmt: skip
        return jsonify(round=round_id, counts=report.report["quality_counts"], flags=report.flags)


@api.get("/api/v1/rounds/<round_id>/circular.<fmt>")
@require("viewer")
def circular(round_id: str, fmt: str):
    if fmt not in ("pdf", "xlsx", "json"):
        abort(404, description="circulars come as .pdf, .xlsx or .json")
    with context().session() as session:
        rnd = _get_round(session, round_id)
        work = get_work(session, round_id)
        row = latest_circular(session, round_id, fmt)
        behind = work is not None and work.ranking_id != work.circular_ranking_id
        if (
            rnd.status == "closed"
            and row is None
            and not _pending(work)
            and latest_snapshot(session, round_id) is None
        ):
            abort(404, description=f"round {round_id!r} was closed with no ballots: no circular")
        if rnd.status == "closed" and (row is None or behind or _pending(work)):
            return jsonify(status="rendering", message="the circular is being made"), 202
        if row is None:
            abort(404, description=f"round {round_id!r} has no circular yet (close it first)")
        mimetype = {
            "pdf": "application/pdf",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "json": "application/json",
        }[fmt]
        response = Response(row.content, mimetype=mimetype)
        response.headers["Content-Disposition"] = attachment(
            f"circular-{round_id}-v{row.version}.{fmt}"
        )
        response.headers["X-Pingyi-Sha256"] = row.sha256
        response.headers["ETag"] = row.sha256
        return response


@api.get("/api/v1/jobs/<job_id>")
@require("viewer")
def job(job_id: str):
    rt = context()
    if rt.queue.inline:
        abort(404, description="no job queue is configured")
    from redis.exceptions import RedisError
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        j = Job.fetch(job_id, connection=rt.queue.redis, serializer="json")
        meta = j.get_meta(refresh=True)
        status = j.get_status(refresh=True)
        error = None
        if status == "failed" and j.exc_info:
            # The exception's last line (e.g. "DrawError: seed source 2: …"), never a traceback.
            error = j.exc_info.strip().splitlines()[-1][:500]
    except NoSuchJobError:
        abort(404, description=f"unknown job {job_id!r}")
    except RedisError:
        abort(503, description="the job queue is unavailable")
    return jsonify(
        id=j.id,
        status=status,
        progress=meta.get("progress"),
        step=meta.get("step"),
        round=meta.get("round"),
        error=error,
        enqueued_at=j.enqueued_at and j.enqueued_at.isoformat(),
        ended_at=j.ended_at and j.ended_at.isoformat(),
    )


@api.get("/api/v1/openapi.json")
def openapi():
    from service.web.openapi import document

    return jsonify(document())
