"""What a job needs, built in the process that runs it (an RQ work horse or the CLI).

Jobs take ids, not objects, and read their configuration here from the environment, the one
place a worker has it. Connections are not pooled across jobs: each job runs in a fresh work
horse, and a pool inherited across ``fork`` would share sockets between processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from service.config import Config, load_config
from service.queue import INLINE_CONFIG, JobQueue
from service.store.engine import make_engine


@dataclass
class JobContext:
    config: Config
    engine: Engine
    queue: JobQueue


def job_context() -> JobContext:
    config = INLINE_CONFIG.get() or load_config(os.environ)
    url = config.database_url
    if url.startswith("sqlite"):
        engine = make_engine(url)
    else:
        engine = create_engine(make_engine(url).url, poolclass=NullPool)
    return JobContext(config, engine, JobQueue(config.redis_url, config))


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
