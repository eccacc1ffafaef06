"""The web process: ``create_app(config=None)`` builds the Flask app; nothing runs at import.

Blueprints: hooks (webhook intake), api (status, rounds, rankings, circulars, jobs), web (the
staff status page) and health. Every error is JSON with a message, including the ones Flask
raises itself (404, 405, 413), and a database that cannot be reached answers 503 so that
platforms retry instead of dropping a delivery.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, jsonify
from sqlalchemy import Engine, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from service.config import Config, load_config
from service.queue import JobQueue
from service.store.engine import make_engine, session_scope
from service.store.inbox import InboxWriter

logger = logging.getLogger(__name__)

# Webhook bodies are small (one ballot is a few KB); 1 MiB bounds what a sender can make us store.
MAX_BODY = 1024 * 1024


@dataclass
class Runtime:
    """What the views share: config, database engine and job queue."""

    config: Config
    engine: Engine
    queue: JobQueue
    inbox: InboxWriter

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("select 1"))
            return True
        except Exception:
            return False


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    """Build the app from ``config`` (default: the environment and ``pingyi.toml``)."""
    config = config or load_config(os.environ)
    app = Flask("pingyi", template_folder=_templates())
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY,
        # No SECRET_KEY: pingyi uses no Flask session (the status page's cookie is the staff
        # token itself, checked like a bearer token), and a session costs every request.
        JSON_AS_ASCII=False,
        **overrides,
    )
    app.json.ensure_ascii = False
    engine = make_engine(config.database_url, pre_ping=False)
    app.extensions["pingyi"] = Runtime(
        config, engine, JobQueue(config.redis_url, config), InboxWriter(engine)
    )

    from service.web.api import api
    from service.web.pages import web
    from service.web.receiver import Intake, IntakeMiddleware, hooks

    app.register_blueprint(hooks)
    intake = Intake(app.extensions["pingyi"], MAX_BODY)
    app.extensions["pingyi_intake"] = intake
    app.wsgi_app = IntakeMiddleware(app.wsgi_app, intake)
    app.register_blueprint(api)
    app.register_blueprint(web)
    _register_errors(app)
    return app


def _templates() -> str:
    return str(Path(__file__).resolve().parents[2] / "templates")


def _register_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify(error=exc.name, message=exc.description), exc.code

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def database_down(exc: Exception):
        # Logged without the statement or parameters: they may carry payload data.
        logger.error("database unavailable: %s", exc.__class__.__name__)
        return jsonify(error="Service Unavailable", message="the database is unavailable"), 503

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        logger.exception("unhandled error")
        return jsonify(error="Internal Server Error", message="an unexpected error occurred"), 500
