"""The one context a process shares: its configuration, database engine and job queue.

The web process builds one at start-up (``Context.for_web``); a job builds its own in the
process that runs it (``Context.for_job``: an RQ work horse, or the CLI running jobs inline).
Jobs take ids, not objects, so a context never travels through Redis.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from service.config import Config, load_config
from service.queue import INLINE_CONFIG, JobQueue
from service.store.engine import make_engine, ping, session_scope
from service.store.inbox import InboxWriter


@dataclass
class Context:
    """Config, engine and queue; the inbox writer is built on first use (web processes only)."""

    config: Config
    engine: Engine
    queue: JobQueue
    _inbox: InboxWriter | None = field(default=None, repr=False)

    @classmethod
    def for_web(cls, config: Config) -> Context:
        """A long-lived process: one pooled engine, no pre-ping on the intake hot path."""
        return cls(config, make_engine(config.database_url, pre_ping=False), _queue(config))

    @classmethod
    def for_job(cls) -> Context:
        """A job's context. Inline (CLI), the caller's config; in a worker, the environment —
        the one place a worker has its settings. Connections are not pooled across jobs: each
        job runs in a fresh work horse, and a pool inherited across ``fork`` would share sockets
        between processes."""
        config = INLINE_CONFIG.get() or load_config(os.environ)
        url = config.database_url
        if url.startswith("sqlite"):
            engine = make_engine(url)
        else:
            # hide_parameters as make_engine's: a failed statement's message names no value.
            engine = create_engine(make_engine(url).url, poolclass=NullPool, hide_parameters=True)
        return cls(config, engine, _queue(config))

    @property
    def inbox(self) -> InboxWriter:
        if self._inbox is None:
            self._inbox = InboxWriter(self.engine)
        return self._inbox

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session

    def database_ok(self) -> bool:
        return ping(self.engine)


def _queue(config: Config) -> JobQueue:
    return JobQueue(config.redis_url, config)
