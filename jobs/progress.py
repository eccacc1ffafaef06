"""Progress of the running job, for ``GET /api/v1/jobs/<id>`` (RQ job meta; nothing inline)."""

from __future__ import annotations


def set_progress(step: str, progress: float, round_id: str | None = None) -> None:
    """Report progress on the current RQ job (read by GET /api/v1/jobs/<id>); no-op inline."""
    try:
        from rq import get_current_job
    except ImportError:  # pragma: no cover
        return
    job = get_current_job()
    if job is None:
        return
    job.meta.update({"step": step, "progress": round(progress, 2), "round": round_id})
    job.save_meta()
