"""The OpenAPI 3.1 document, generated from the marshmallow schemas (one source of truth).

A small converter rather than a dependency: the schemas use a handful of field types, and the
document must describe exactly what the views send.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from connectors.canonical import CanonicalBallotSchema
from service.web import schemas as s
from service.web import sources as src
from service.web import tokens as tok

_SIMPLE = {
    fields.String: {"type": "string"},
    fields.Integer: {"type": "integer"},
    fields.Float: {"type": "number"},
    fields.Boolean: {"type": "boolean"},
    fields.AwareDateTime: {"type": "string", "format": "date-time"},
    fields.DateTime: {"type": "string", "format": "date-time"},
    fields.Raw: {},
}


def field_schema(field: fields.Field) -> dict:
    """JSON Schema of one marshmallow field."""
    if isinstance(field, fields.Nested):
        out: dict = {"$ref": f"#/components/schemas/{_name(field.nested)}"}
    elif isinstance(field, fields.List):
        out = {"type": "array", "items": field_schema(field.inner)}
    elif isinstance(field, fields.Dict):
        out = {"type": "object"}
        if field.value_field is not None:
            out["additionalProperties"] = field_schema(field.value_field)
    else:
        out = next((dict(v) for t, v in _SIMPLE.items() if type(field) is t), {})
    if field.allow_none and "type" in out:
        out["type"] = [out["type"], "null"]
    for v in field.validators:
        if isinstance(v, validate.OneOf):
            out["enum"] = list(v.choices)
        elif isinstance(v, validate.Length):
            if v.min is not None:
                out["minLength" if out.get("type") == "string" else "minItems"] = v.min
            if v.max is not None:
                out["maxLength" if out.get("type") == "string" else "maxItems"] = v.max
    if field.metadata.get("description"):
        out["description"] = field.metadata["description"]
    return out


def _name(schema: type[Schema] | Schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Schema")


def component(schema: type[Schema]) -> dict:
    instance = schema()
    props = {name: field_schema(f) for name, f in instance.fields.items()}
    required = [name for name, f in instance.fields.items() if f.required]
    out = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def _ref(schema: type[Schema]) -> dict:
    return {"$ref": f"#/components/schemas/{_name(schema)}"}


def _json(schema: type[Schema], description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


ERRORS = {
    "401": _json(s.ErrorSchema, "no valid token"),
    "403": _json(
        s.ErrorSchema,
        "the token's role is too low; or, authenticated by the page's cookie, a state-changing "
        "request from another origin or without the session's CSRF token",
    ),
    "404": _json(s.ErrorSchema, "not found"),
}


def _op(summary: str, responses: dict, role: str | None = "viewer", **extra) -> dict:
    op = {"summary": summary, "responses": responses, **extra}
    if role:
        op["security"] = [{"bearer": []}]
        op["description"] = f"Role: {role}."
        op["responses"] = {**responses, **ERRORS}
    return op


def document() -> dict:
    """The whole OpenAPI document."""
    round_param = [
        {"name": "round_id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    binary = {"schema": {"type": "string", "format": "binary"}}
    components = [
        s.ErrorSchema, s.ParticipationSchema, s.RankedUnitSchema, s.RankingSchema, s.ProgressSchema,
        s.RoundLinksSchema, s.RoundSchema, s.RoundListSchema, s.SourceStatusSchema, s.StatusRoundSchema,
        s.StatusSchema, s.AcceptedSchema, s.JobSchema, s.VetoSchema, s.VetoRecordSchema, s.HealthSchema,
        s.DrawRequestSchema, s.SeatSchema, s.PanelSchema, CanonicalBallotSchema, *src.SCHEMAS, *tok.SCHEMAS,
        s.InboxCountsSchema, s.RoundFailuresSchema, s.FailuresSchema, s.UncertaintySchema,
        s.BootstrapSchema, s.QualityFlagSchema, s.QualitySchema, s.WithdrawalSchema, s.ReissueSchema,
    ]  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "pingyi 评议", "version": "1", "description": "Democratic evaluation service (docs/service.md)."},
        "components": {
            "schemas": {_name(c): component(c) for c in components},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/healthz": {"get": _op("Process is up", {"200": _json(s.HealthSchema, "ok")}, role=None)},
            "/readyz": {"get": _op("Database and Redis reachable", {"200": _json(s.HealthSchema, "ready"), "503": _json(s.HealthSchema, "not ready")}, role=None)},
            "/metrics": {"get": _op("Prometheus metrics", {"200": {"description": "text exposition", "content": {"text/plain": {"schema": {"type": "string"}}}}}, role=None)},
            "/hooks/{source}": {"post": _op(
                "Webhook intake (Standard Webhooks signed canonical ballot or array of them)",
                {"202": _json(s.AcceptedSchema, "stored"), "200": _json(s.AcceptedSchema, "duplicate or ignored event"),
                 "400": _json(s.ErrorSchema, "malformed JSON"), "401": _json(s.ErrorSchema, "forged or stale signature"),
                 "404": _json(s.ErrorSchema, "unknown source"), "413": _json(s.ErrorSchema, "body over 1 MiB"),
                 "503": _json(s.ErrorSchema, "database unavailable; retry")},
                role=None,
                parameters=[{"name": "source", "in": "path", "required": True, "schema": {"type": "string"}}],
                requestBody={"content": {"application/json": {"schema": {"oneOf": [_ref(CanonicalBallotSchema), {"type": "array", "items": _ref(CanonicalBallotSchema)}]}}}},
            )},
            "/api/v1/status": {"get": _op("Queues, workers, sources, open rounds' progress, what did not count", {"200": _json(s.StatusSchema, "status")})},
            "/api/v1/rounds": {"get": _op("Rounds", {"200": _json(s.RoundListSchema, "rounds")})},
            "/api/v1/rounds/{round_id}": {"get": _op("One round", {"200": _json(s.RoundSchema, "round")}, parameters=round_param)},
            "/api/v1/rounds/{round_id}/ranking": {"get": _op("The latest ranking (the ranking JSON of docs/rules.md)", {"200": _json(s.RankingSchema, "ranking"), "202": _json(s.AcceptedSchema, "being computed")}, parameters=round_param)},
            "/api/v1/rounds/{round_id}/quality": {"get": _op("Ballot-quality flags by seat (docs/reliability.md); admins only, never published", {"200": _json(s.QualitySchema, "flags"), "404": _json(s.ErrorSchema, "no report yet")}, role="admin", parameters=round_param)},
            "/api/v1/rounds/{round_id}/circular.pdf": {"get": _op("The latest circular as PDF", {"200": {"description": "PDF", "content": {"application/pdf": binary}}, "202": _json(s.AcceptedSchema, "being made")}, parameters=round_param)},
            "/api/v1/rounds/{round_id}/circular.xlsx": {"get": _op("The latest circular as XLSX", {"200": {"description": "XLSX", "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": binary}}, "202": _json(s.AcceptedSchema, "being made")}, parameters=round_param)},
            "/api/v1/rounds/{round_id}/close": {"post": _op("Close a round; rank and render in the background", {"202": _json(s.AcceptedSchema, "job enqueued")}, role="admin", parameters=round_param)},
            "/api/v1/rounds/{round_id}/vetoes": {"post": _op("One-vote veto of a unit", {"201": _json(s.VetoRecordSchema, "recorded"), "409": _json(s.ErrorSchema, "already vetoed")}, role="admin", parameters=round_param, requestBody={"required": True, "content": {"application/json": {"schema": _ref(s.VetoSchema)}}})},
            "/api/v1/rounds/{round_id}/vetoes/{unit}": {"delete": _op("Withdraw a unit's veto, with a reason the audit log keeps; ranked again (a published circular is then outdated, not replaced)", {"200": {"description": "withdrawn", "content": {"application/json": {"schema": {"type": "object"}}}}, "404": _json(s.ErrorSchema, "not vetoed"), "400": _json(s.ErrorSchema, "no reason")}, role="admin", parameters=[*round_param, {"name": "unit", "in": "path", "required": True, "schema": {"type": "string"}}], requestBody={"required": True, "content": {"application/json": {"schema": _ref(s.WithdrawalSchema)}}})},
            "/api/v1/rounds/{round_id}/circular": {"post": _op("Re-issue the published circular as a new version printing the reason (ranked again, in the background)", {"202": _json(s.AcceptedSchema, "job enqueued"), "200": _json(s.AcceptedSchema, "done (no queue)"), "409": _json(s.ErrorSchema, "nothing published yet"), "400": _json(s.ErrorSchema, "no reason")}, role="admin", parameters=round_param, requestBody={"required": True, "content": {"application/json": {"schema": _ref(s.ReissueSchema)}}})},
            "/api/v1/rounds/{round_id}/circular.json": {"get": _op("The latest circular's numbers as JSON", {"200": {"description": "JSON", "content": {"application/json": {"schema": {"type": "object"}}}}, "202": _json(s.AcceptedSchema, "being made")}, parameters=round_param)},
            "/api/v1/rounds/{round_id}/draw": {"post": _op("Draw the panel from lottery results (docs/draw.md)", {"202": _json(s.AcceptedSchema, "job enqueued"), "200": _json(s.AcceptedSchema, "done (no queue)"), "400": _json(s.ErrorSchema, "bad request or refused draw")}, role="admin", parameters=round_param, requestBody={"required": True, "content": {"application/json": {"schema": _ref(s.DrawRequestSchema)}}})},
            "/api/v1/rounds/{round_id}/panel": {"get": _op("Seats with tokens, and reserve lists", {"200": _json(s.PanelSchema, "panel")}, role="admin", parameters=round_param)},
            "/api/v1/openapi.json": {"get": _op("This document", {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}, role=None)},
            "/api/v1/source-kinds": {"get": _op("Kinds of source and their source add options", {"200": _json(src.SourceKindsSchema, "kinds")})},
            "/api/v1/sources": {"post": _op("Add a source (as pingyi source add): read the survey, build the mapping", {"201": _json(src.SourceAddedSchema, "added"), "200": _json(src.SourceAddedSchema, "replaced"), "400": _json(s.ErrorSchema, "refused options or survey"), "502": _json(s.ErrorSchema, "the platform failed")}, role="admin", requestBody={"required": True, "content": {"application/json": {"schema": _ref(src.SourceAddSchema)}}})},
            "/api/v1/tokens": {"get": _op("Staff tokens (never their values), as pingyi token list", {"200": _json(tok.TokenListSchema, "tokens")}, role="admin")},
            "/api/v1/tokens/{token_id}": {"delete": _op("Revoke a token and end its page sessions (idempotent), as pingyi token revoke", {"200": _json(tok.TokenSchema, "revoked")}, role="admin", parameters=[{"name": "token_id", "in": "path", "required": True, "schema": {"type": "integer"}}])},
            "/api/v1/jobs/{job_id}": {"get": _op("A job's progress", {"200": _json(s.JobSchema, "job")}, parameters=[{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}])},
        },
    }  # fmt: skip
