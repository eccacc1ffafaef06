"""Sources over HTTP: which kinds there are and their ``source add`` options (viewer), and adding
a source (admin) through the same path as ``pingyi source add`` (:func:`jobs.sources.add`).

Options are JSON values named as the platform's schema names them (``secret_env``, ``survey``);
a secret option holds the *name* of an environment variable of the web process, never a secret,
and a file option (``scale``) holds the file's text. Adding a source reads the survey's structure
from its platform within the request, bounded by :data:`PLATFORM_BUDGET`.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

from connectors.base import ConfigError, ConnectorError, CredentialsError, OptionsRefused
from connectors.registry import export_formats, platform, source_kinds
from jobs.sources import add
from service.context import Context
from service.store.engine import StoreError
from service.web.auth import require

logger = logging.getLogger(__name__)
sources = Blueprint("sources", __name__)

# Seconds a platform may take to answer while a source is added: well inside gunicorn's 30 s
# worker timeout (service/web/gunicorn_conf.py), so a slow platform fails the request with its
# reason instead of the worker being killed mid-answer.
PLATFORM_BUDGET = 20.0


class SourceOptionSchema(Schema):
    name = fields.String(required=True)
    type = fields.String(
        required=True, validate=validate.OneOf(["string", "integer", "number", "boolean"])
    )
    required = fields.Boolean(required=True)
    default = fields.Raw(allow_none=True)
    help = fields.String()
    secret = fields.String(
        allow_none=True,
        metadata={"description": "what the environment variable named by the value holds"},
    )
    file = fields.Boolean(metadata={"description": "the value is a file's text"})


class SourceKindSchema(Schema):
    kind = fields.String(required=True)
    title = fields.String()
    webhooks = fields.Boolean(metadata={"description": "takes POST /hooks/<source>"})
    polled = fields.Boolean()
    export = fields.Boolean(metadata={"description": "pingyi ingest --format reads its export"})
    links = fields.Boolean(metadata={"description": "writes seats' personal links"})
    panel = fields.Boolean(metadata={"description": "pushes a round's seats as participants"})
    options = fields.List(fields.Nested(SourceOptionSchema))


class SourceKindsSchema(Schema):
    kinds = fields.List(fields.Nested(SourceKindSchema))
    formats = fields.List(fields.String(), metadata={"description": "pingyi ingest --format"})


class SourceAddSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    kind = fields.String(required=True)
    round = fields.String(required=True)
    replace = fields.Boolean(load_default=False)
    options = fields.Dict(keys=fields.String(), load_default=dict)


class SourceAddedSchema(Schema):
    """The common part of the answer; each platform adds its own summary (survey, question…)."""

    source = fields.String(required=True)
    kind = fields.String(required=True)
    round = fields.String(required=True)
    replaced = fields.Boolean()
    hook = fields.String(allow_none=True, metadata={"description": "where senders POST"})
    polled = fields.Boolean()
    notes = fields.List(fields.String())


SCHEMAS = (SourceOptionSchema, SourceKindSchema, SourceKindsSchema, SourceAddSchema,
           SourceAddedSchema)  # fmt: skip


def context() -> Context:
    return current_app.extensions["pingyi"]


@sources.get("/api/v1/source-kinds")
@require("viewer")
def source_kinds_view():
    """Each kind of source with its options, as ``pingyi source add --help`` shows them."""
    kinds = []
    for kind in source_kinds():
        p = platform(kind)
        kinds.append(
            {
                "kind": p.kind,
                "title": p.title,
                "webhooks": p.webhooks is not None,
                "polled": p.polling is not None,
                "export": p.export is not None,
                "links": p.link is not None,
                "panel": p.push_panel is not None,
                "options": [spec.as_json() for spec in p.option_specs()],
            }
        )
    return jsonify(kinds=kinds, formats=export_formats())


@sources.post("/api/v1/sources")
@require("admin")
def add_source_view():
    """Add (or, with ``replace``, rebuild) a source: 201 added, 200 replaced, 400 refused."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, description='expected JSON like {"name": "ls", "kind": "limesurvey", …}')
    try:
        body = SourceAddSchema().load(data)
    except ValidationError as exc:
        abort(400, description=f"{exc.messages}")
    ctx = context()
    try:
        added = add(
            ctx.engine, ctx.config, body["name"], body["kind"], body["round"], body["options"],
            body["replace"], budget=PLATFORM_BUDGET,
        )  # fmt: skip
    except OptionsRefused as exc:
        return jsonify(error="Bad Request", message=str(exc), options=exc.errors), 400
    except (ConfigError, CredentialsError, StoreError, ValueError) as exc:
        abort(400, description=str(exc))
    except ConnectorError as exc:  # the platform failed or could not be reached
        logger.warning("source %s: the platform failed during setup", body["name"])
        abort(502, description=str(exc))
    return jsonify(added.summary), 200 if body["replace"] else 201
