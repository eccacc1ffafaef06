"""Staff tokens over HTTP, for admins: ``GET /api/v1/tokens`` lists them (never a value or a
hash) and ``DELETE /api/v1/tokens/<id>`` revokes one and ends its page sessions, as
``pingyi token list`` and ``pingyi token revoke`` do. Creating a token stays on the command line:
a new secret is printed once, to whoever runs the server."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify
from marshmallow import Schema, fields, validate

from service.store.engine import StoreError
from service.store.tokens import list_tokens, revoke_token
from service.web.auth import current_caller, require

tokens = Blueprint("tokens", __name__)


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["viewer", "admin"]))
    created_at = fields.AwareDateTime(required=True)
    last_used_at = fields.AwareDateTime(required=True, allow_none=True)
    expires_at = fields.AwareDateTime(
        required=True, allow_none=True, metadata={"description": "null: made before expiry existed"}
    )
    revoked_at = fields.AwareDateTime(required=True, allow_none=True)
    state = fields.String(required=True, validate=validate.OneOf(["live", "expired", "revoked"]))


class TokenListSchema(Schema):
    tokens = fields.List(fields.Nested(TokenSchema), required=True)


SCHEMAS = [TokenSchema, TokenListSchema]


@tokens.get("/api/v1/tokens")
@require("admin")
def token_list():
    with current_app.extensions["pingyi"].session() as session:
        return jsonify(tokens=list_tokens(session))


@tokens.delete("/api/v1/tokens/<int:token_id>")
@require("admin")
def token_revoke(token_id: int):
    """Revoke (idempotent: a revoked token answers 200 again, unchanged)."""
    caller = current_caller()
    actor = f"api:token {caller.token_id}" if caller else "api"
    with current_app.extensions["pingyi"].session() as session:
        try:
            body = revoke_token(session, token_id, actor=actor)
        except StoreError as exc:
            abort(404, description=str(exc))
    return jsonify(body)
