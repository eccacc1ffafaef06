"""Standard Webhooks signatures (standardwebhooks.com, spec v1), through the ``standardwebhooks``
library: verifying what senders post to a ``standard-webhooks`` source, signing what pingyi sends
to its own subscribers (outgoing events).

The scheme: ``webhook-signature`` holds space-separated ``v1,<base64>`` values, each
HMAC-SHA256 over ``"{webhook-id}.{webhook-timestamp}.{body}"`` with the base64-decoded key of a
``whsec_`` secret; a timestamp more than 5 minutes from now is refused (replays). The library
fixes that tolerance at 5 minutes, reads the three headers case-insensitively and accepts any one
valid ``v1`` signature, so a sender rotating its secret can sign with both.

The library decodes and re-encodes the body to verify it, which costs a few tens of microseconds
more per delivery than the hand-written HMAC it replaced; on the receiver's hot path (gunicorn +
PostgreSQL) that difference has not shown above the noise of paired runs
(``benchmarks/receiver.py --compare-verifiers``, which keeps the old check as its baseline).

Two things the library does not do, done here: a secret is checked when a source is added (the
library decodes any text as base64, so a mistyped secret would only fail at the first delivery),
and a ``webhook-id`` is bounded (it is the inbox's deduplication key, at most 200 characters).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError, hmac_data

from connectors.canonical import decode_json

SECRET_PREFIX = "whsec_"
MAX_ID = 200
# The headers verification reads, by their lower-case names.
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class SignatureRejected(ValueError):
    """The delivery is not authentic or not fresh (HTTP 401); the message never holds a secret."""


class BodyNotText(ValueError):
    """The body is not UTF-8, so it cannot be JSON (RFC 8259) and cannot be verified as text
    either: refused as malformed (HTTP 400) before its signature is read. Nothing is stored."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret; a malformed or short secret is refused by name."""
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the secret is not whsec_ followed by base64") from None
    if len(key) < 16:
        raise ValueError("the secret is shorter than 128 bits")
    return key


class Verifier:
    """Verifies deliveries for one secret; built once per source (the key is decoded once)."""

    def __init__(self, secret: str) -> None:
        self._webhook = Webhook(secret_key(secret))

    def verify(self, headers: Mapping[str, str], body: bytes) -> tuple[str, Any]:
        """``(webhook-id, the decoded JSON body)`` of an authentic, fresh delivery.

        Raises :class:`SignatureRejected` (401), :class:`BodyNotText` (400), or ``ValueError``
        (400: authentic, but not plain JSON).
        """
        msg_id = headers.get("webhook-id") or ""
        if len(msg_id) > MAX_ID:
            raise SignatureRejected("webhook-id is longer than 200 characters")
        try:
            self._webhook.verify(body, dict(headers), json_parse=False)
        except UnicodeDecodeError:
            raise BodyNotText("the body is not UTF-8 text") from None
        except (WebhookVerificationError, ValueError) as exc:
            # ValueError: a signature without its "v1," or with broken base64.
            raise SignatureRejected(_reason(exc)) from None
        # Parsed only once the signature matched, and by our decoder: exact decimals, no
        # NaN/Infinity, and nesting too deep for the parser is a ValueError, not a crash.
        return msg_id, decode_json(body.decode("utf-8"))


def _reason(exc: Exception) -> str:
    if isinstance(exc, WebhookVerificationError):
        return str(exc) or "no valid v1 signature"
    return "the webhook-signature header is malformed"


def verify(secret: str, headers: Mapping[str, str], body: bytes) -> str:
    """The ``webhook-id`` of an authentic, fresh JSON delivery signed with ``secret``."""
    return Verifier(secret).verify({k.lower(): v for k, v in headers.items()}, body)[0]


def sign_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of a delivery of ``body`` signed with ``secret``, as any sender sends them.

    The spec signs the body's bytes; the library takes text. pingyi's own events are UTF-8 JSON
    and are signed by the library; a body that is not UTF-8 (what a broken sender might post,
    kept as a test vector) is signed over its bytes with the library's HMAC primitive.
    """
    key = secret_key(secret)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        mac = hmac_data(key, f"{msg_id}.{timestamp}.".encode() + body)
        signature = "v1," + base64.b64encode(mac).decode()
    else:
        signature = Webhook(key).sign(msg_id, datetime.fromtimestamp(timestamp, tz=UTC), text)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
