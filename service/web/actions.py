"""What admins do to a round through the API (docs/service.md): close it, veto a unit or
withdraw a veto, re-issue its published circular, draw its panel, read the panel with its
tokens. Every route needs an admin; each change is audit-logged with the API as the actor.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request, url_for

from service.queue import NOTIFY, RANKING, RENDER
from service.store.audit import append_audit
from service.store.draws import panel_json
from service.store.engine import StoreError
from service.store.outbox import emit
from service.store.results import latest_circular
from service.store.rounds import add_veto, remove_veto, round_event
from service.store.work import close_round, request_ranking
from service.web.api import _get_round, context, enqueue_after_commit
from service.web.auth import require
from service.web.schemas import DrawRequestSchema, ReissueSchema, VetoSchema, WithdrawalSchema

actions = Blueprint("actions", __name__)


@actions.post("/api/v1/rounds/<round_id>/close")
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


@actions.post("/api/v1/rounds/<round_id>/vetoes")
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


@actions.delete("/api/v1/rounds/<round_id>/vetoes/<unit>")
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


@actions.post("/api/v1/rounds/<round_id>/circular")
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


@actions.post("/api/v1/rounds/<round_id>/draw")
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
    panel_url = url_for("actions.panel_view", round_id=round_id)
    if job.id is None:
        return jsonify(status="done", round=round_id, panel=panel_url), 200
    return jsonify(
        status="accepted", round=round_id, job=url_for("api.job", job_id=job.id), panel=panel_url
    ), 202


@actions.get("/api/v1/rounds/<round_id>/panel")
@require("admin")
def panel_view(round_id: str):
    """Seats with their tokens and the reserve lists: admins only (tokens are ballots' keys)."""
    with context().session() as session:
        _get_round(session, round_id)
        return jsonify(panel_json(session, round_id))
