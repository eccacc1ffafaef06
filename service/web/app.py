"""The web process: ``create_app(config=None)`` builds the Flask app; nothing runs at import.

The webhook receiver sits in front of Flask; blueprints: api (status, rounds, rankings, circulars,
jobs), sources (source kinds, adding a source), tokens (listing and revoking staff tokens), web
(the staff status page, login and logout) and health. Every error is JSON with a message,
including the ones Flask raises itself (404, 405, 413), and a database that cannot be reached
answers 503 so that platforms retry instead of dropping a delivery.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, jsonify
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from service.config import Config, load_config
from service.context import Context

logger = logging.getLogger(__name__)

# Webhook bodies are small (one ballot is a few KB); 1 MiB bounds what a sender can make us store.
MAX_BODY = 1024 * 1024


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    """Build the app from ``config`` (default: the environment and ``pingyi.toml``)."""
    config = config or load_config(os.environ)
    app = Flask("pingyi", template_folder=_templates())
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY,
        # No SECRET_KEY: pingyi uses no Flask session. The status page's cookie is a
        # server-side session id (service/store/sessions.py) and its CSRF token is derived
        # from that id (service/web/auth.py), so there is no signing key to keep or rotate.
        JSON_AS_ASCII=False,
        **overrides,
    )
    app.json.ensure_ascii = False
    app.extensions["pingyi"] = Context.for_web(config)

    from service.web.actions import actions
    from service.web.api import api
    from service.web.pages import web
    from service.web.receiver import install
    from service.web.sources import sources
    from service.web.tokens import tokens

    install(app, app.extensions["pingyi"], MAX_BODY)
    proxies = config.auth.trusted_proxies
    if proxies:
        # The client's address (login throttle), scheme (Secure cookie) and host (the origin a
        # cookie request must come from) as the reverse proxies in front report them.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    app.register_blueprint(api)
    app.register_blueprint(actions)
    app.register_blueprint(sources)
    app.register_blueprint(tokens)
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
