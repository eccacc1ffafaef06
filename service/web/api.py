"""HTTP API (docs/service.md): health, metrics, status, rounds, rankings, circulars, jobs.

Viewers read and download; admins also close rounds and veto. Nothing here serves who holds a
seat: rankings and circulars are aggregates, and the status counts ballots, never evaluators.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for

from service.context import Context
from service.metrics import render as render_metrics
from service.models.rounds import Round
from service.models.service import RoundWork
from service.queue import NOTIFY, RANKING, RENDER
from service.store.audit import append_audit
from service.store.ballots import status_counts
from service.store.draws import panel_json
from service.store.engine import StoreError, as_utc
from service.store.outbox import emit
from service.store.reliability import report_for, with_uncertainty
from service.store.results import (
    circular_outdated,
    latest_circular,
    latest_circular_version,
    latest_snapshot,
)
from service.store.rounds import (
    add_veto,
    find_round,
    list_rounds,
    open_parts,
    remove_veto,
    round_event,
)
from service.store.status import failure_counts, round_progress
from service.store.work import close_round, get_work, request_ranking
from service.web.auth import require
from service.web.schemas import DrawRequestSchema, ReissueSchema, VetoSchema, WithdrawalSchema
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
        response.headers["Content-Disposition"] = (
            f'attachment; filename="circular-{round_id}-v{row.version}.{fmt}"'
        )
        response.headers["X-Pingyi-Sha256"] = row.sha256
        response.headers["ETag"] = row.sha256
        return response


@api.post("/api/v1/rounds/<round_id>/close")
@require("admin")
def close(round_id: str):
    """Close the round: no more ballots count for it; rank and render in the background."""
    rt = context()
    with rt.session() as session:
        rnd = _get_round(session, round_id)
        close_round(session, round_id)
        append_audit(session, "round.close", {}, round_id, actor="api")
        outbox = emit(session, "round.closed", [round_event(rnd)])
    for event_id in outbox:
        enqueue_after_commit(NOTIFY, "jobs.notify.deliver", event_id)
    # On the render queue: it ends by rendering, which must not hold up the intake worker.
    job = enqueue_after_commit(RENDER, "jobs.rounds.close_round_job", round_id)
    if rt.queue.inline:
        return jsonify(status="done", round=round_id), 200
    if job is None:
        return jsonify(
            status="accepted",
            round=round_id,
            job=None,
            message="the round is closed; the queue is unavailable, so the scheduler will rank "
            "and render it when it is back",
        ), 202
    return jsonify(status="accepted", round=round_id, job=url_for("api.job", job_id=job.id)), 202


@api.post("/api/v1/rounds/<round_id>/vetoes")
@require("admin")
def veto(round_id: str):
    data = request.get_json(silent=True)
    errors = VetoSchema().validate(data) if isinstance(data, dict) else {"_schema": ["not JSON"]}
    if errors:
        abort(
            400,
            description='expected {"unit": "...", "reason": "...", "by": "...", '
            f'"date": "YYYY-MM-DD"}}: {errors}',
        )
    unit, reason = data["unit"], data["reason"]
    decided = VetoSchema().load(data).get("date")
    rt = context()
    with rt.session() as session:
        _get_round(session, round_id)
        try:
            tz = rt.config.circular.timezone
            v = add_veto(session, round_id, unit, reason, data.get("by"), decided, tz, "api")
        except StoreError as exc:
            abort(409 if "already" in str(exc) else 400, description=str(exc))
        request_ranking(session, round_id)
        body = {
            "round": round_id,
            "unit": v.unit_code,
            "reason": v.reason,
            "by": v.by,
            "date": v.decided_on.isoformat(),
        }
    enqueue_after_commit(
        RANKING, "jobs.rounds.rank_round_job", round_id, coalesce=f"rank:{round_id}"
    )
    return jsonify(body), 201


@api.delete("/api/v1/rounds/<round_id>/vetoes/<unit>")
@require("admin")
def withdraw_veto(round_id: str, unit: str):
    """Withdraw a unit's veto (decided in error, or overturned), with a reason the audit log
    keeps; the round is ranked again. A published circular is not replaced by this: it is then
    reported outdated, and staff re-issue it (POST …/circular)."""
    data = request.get_json(silent=True)
    errors = (
        WithdrawalSchema().validate(data) if isinstance(data, dict) else {"_schema": ["not JSON"]}
    )
    if errors or not str(data.get("reason", "")).strip():
        abort(
            400, description=f'expected {{"reason": "...", "by": "..."}}: {errors or "no reason"}'
        )
    rt = context()
    with rt.session() as session:
        _get_round(session, round_id)
        try:
            remove_veto(session, round_id, unit, data["reason"], data.get("by"), actor="api")
        except StoreError as exc:
            abort(404 if "not vetoed" in str(exc) else 400, description=str(exc))
        request_ranking(session, round_id)
    enqueue_after_commit(
        RANKING, "jobs.rounds.rank_round_job", round_id, coalesce=f"rank:{round_id}"
    )
    return jsonify(round=round_id, unit=unit, withdrawn=data["reason"].strip()), 200


@api.post("/api/v1/rounds/<round_id>/circular")
@require("admin")
def reissue(round_id: str):
    """Re-issue the round's published circular as a new version, with a reason it prints (in
    the background, on the render queue); 409 when nothing is published yet, since the first
    version is published by the service itself when the round closes."""
    data = request.get_json(silent=True)
    errors = ReissueSchema().validate(data) if isinstance(data, dict) else {"_schema": ["not JSON"]}
    if errors or not str(data.get("reason", "")).strip():
        abort(400, description=f'expected {{"reason": "..."}}: {errors or "no reason"}')
    reason = data["reason"].strip()
    rt = context()
    with rt.session() as session:
        _get_round(session, round_id)
        if latest_circular(session, round_id, "pdf") is None:
            abort(
                409,
                description=f"round {round_id!r} has no published circular to re-issue; the "
                "first version is published when the round closes",
            )
    try:
        job = rt.queue.enqueue(RENDER, "jobs.rounds.reissue_circular_job", round_id, reason)
    except StoreError as exc:  # inline mode: the job ran here and refused
        abort(409, description=str(exc))
    if job.id is None:
        with rt.session() as session:
            latest = latest_circular(session, round_id, "pdf")
            assert latest is not None
            version = latest.version
        return jsonify(status="done", round=round_id, version=version), 200
    return jsonify(status="accepted", round=round_id, job=url_for("api.job", job_id=job.id)), 202


@api.post("/api/v1/rounds/<round_id>/draw")
@require("admin")
def draw(round_id: str):
    """Draw the round's panel from lottery results (docs/draw.md), in a worker; 202 with a job URL."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, description='expected JSON like {"numbers": "9319; 2 5 8 10 12", "seats": 100}')
    errors = DrawRequestSchema().validate(data)
    if errors or bool(data.get("seed")) == bool(data.get("numbers")):
        abort(400, description=f"give exactly one of seed or numbers; {errors or ''}".rstrip("; "))
    with context().session() as session:
        _get_round(session, round_id)
    args = (data.get("seed"), data.get("numbers"), data.get("seats"), data.get("method"))
    try:
        job = context().queue.enqueue(
            RANKING, "jobs.draw.ceremony.draw_job", round_id, *args, bool(data.get("force"))
        )
    except (StoreError, ValueError) as exc:  # inline mode: the draw ran here and refused
        abort(400, description=str(exc))
    panel_url = url_for("api.panel_view", round_id=round_id)
    if job.id is None:
        return jsonify(status="done", round=round_id, panel=panel_url), 200
    return jsonify(
        status="accepted", round=round_id, job=url_for("api.job", job_id=job.id), panel=panel_url
    ), 202


@api.get("/api/v1/rounds/<round_id>/panel")
@require("admin")
def panel_view(round_id: str):
    """Seats with their tokens and the reserve lists: admins only (tokens are ballots' keys)."""
    with context().session() as session:
        _get_round(session, round_id)
        return jsonify(panel_json(session, round_id))


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
