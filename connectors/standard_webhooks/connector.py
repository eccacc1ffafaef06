"""Standard Webhooks (standardwebhooks.com, spec v1): verify incoming and sign outgoing webhooks.

Any sender that signs this way (Formbricks, Svix-based platforms, another pingyi) can push
canonical ballots: the body is one canonical ballot or a JSON array of them (SPEC §7).

Signature: ``webhook-signature`` holds space-separated ``v1,<base64>`` values, each
HMAC-SHA256 over ``"{webhook-id}.{webhook-timestamp}.{body}"`` with the base64-decoded key of a
``whsec_`` secret. A timestamp more than 5 minutes from now is refused (replays), and the
``webhook-id`` is the delivery id the inbox deduplicates on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import ClassVar

from marshmallow import Schema, fields, validate

from connectors.canonical import RawRecord, canonical_text, load_ballot

KIND = "standard-webhooks"
TOLERANCE = 300  # seconds either way, as the spec says
SECRET_PREFIX = "whsec_"
MAX_ID = 200


class WebhookRejected(ValueError):
    """Verification failed: the delivery is not authentic or not fresh (HTTP 401)."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret; a bad secret is a configuration error."""
    text = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the secret is not whsec_ followed by base64") from None
    if len(key) < 16:
        raise ValueError("the secret is shorter than 128 bits")
    return key


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Headers for an outgoing delivery."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret_key(secret), msg_id, timestamp, body),
        "content-type": "application/json",
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookRejected(f"missing {name} header")


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str:
    """Check a delivery's signature and freshness; returns its ``webhook-id``."""
    msg_id = _header(headers, "webhook-id").strip()
    if not msg_id or len(msg_id) > MAX_ID:
        raise WebhookRejected("webhook-id is empty or too long")
    try:
        timestamp = int(_header(headers, "webhook-timestamp").strip())
    except ValueError:
        raise WebhookRejected("webhook-timestamp is not a number") from None
    if abs(now - timestamp) > TOLERANCE:
        raise WebhookRejected("webhook-timestamp is outside the 5-minute window")
    expected = signature(secret_key(secret), msg_id, timestamp, body).encode()
    for candidate in _header(headers, "webhook-signature").split():
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return msg_id
    raise WebhookRejected("no valid v1 signature")


def is_ignored_event(data: object) -> bool:
    """A sender's other events (e.g. ``{"type": "responseCreated", …}``) are not ballots: they
    are answered 200 and not stored, so the sender stops retrying them."""
    return isinstance(data, dict) and "type" in data and "answers" not in data


def parse(body: bytes, delivery_id: str, source: str) -> list[RawRecord]:
    """One canonical ballot or an array of them; a malformed body is kept as a rejected record."""
    where = f"{source} delivery {delivery_id}"
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(body, parse_float=Decimal)
    except ValueError as exc:
        return [RawRecord(where, text, error=f"{where}: invalid JSON ({exc})")]
    items = data if isinstance(data, list) else [data]
    if not items:
        return []
    if len(items) == 1:
        return [load_ballot(items[0], where, text)]
    return [
        load_ballot(item, f"{where}, item {i}", canonical_text(item))
        for i, item in enumerate(items, start=1)
    ]


class StandardWebhooksConfigSchema(Schema):
    """A source's stored configuration: only the name of the variable holding the secret."""

    secret_env = fields.String(required=True, validate=validate.Length(min=1, max=200))


class StandardWebhooksConnector:
    """The connector contract (connectors/base.py) for Standard Webhooks senders."""

    kind: ClassVar[str] = KIND
    in_order: ClassVar[bool] = False  # deliveries can arrive in any order, and more than once
    config_schema: ClassVar[type[Schema]] = StandardWebhooksConfigSchema
    secrets: ClassVar[Mapping[str, str]] = {"secret": "secret_env"}

    def __init__(self, name: str, secret: str, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.secret = secret
        self.clock = clock

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> str:
        """The delivery id when authentic and fresh; raises WebhookRejected otherwise."""
        return verify(self.secret, headers, body, self.clock())

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[RawRecord]:
        return parse(body, _header(headers, "webhook-id"), self.name)


# Push-only: a source of this kind is never polled (see connectors.source_kinds).
PUSH_CONNECTOR = StandardWebhooksConnector
