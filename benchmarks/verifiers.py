"""The two Standard Webhooks verifiers compared on the receiver's hot path.

``library``: what pingyi runs, :mod:`connectors.signatures` over the ``standardwebhooks``
library. ``handwritten``: the HMAC check pingyi had before it (kept here, and only here, as the
baseline): ``hmac.compare_digest`` of each ``v1`` value against HMAC-SHA256 over
``id.timestamp.body`` bytes, then ``json.loads``. The comparison app serves both at once: the
registry gets a copy of the ``standard-webhooks`` platform under the kind
``standard-webhooks-handwritten`` whose verifier is the baseline, so a source of either kind is
answered by the same gunicorn workers, receiver and INSERT (``benchmarks/receiver.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import replace

from connectors.base import (
    Platform,
    SourceSettings,
    Verifier,
    WebhookMalformed,
    WebhookRejected,
    WebhookRequest,
)
from connectors.registry import platform, register
from connectors.signatures import MAX_ID, secret_key

HANDWRITTEN = "standard-webhooks-handwritten"
TOLERANCE = 300


def handwritten_verifier(settings: SourceSettings) -> Verifier:
    """The baseline: the same refusals as the library's, checked by hand."""
    key = secret_key(settings.secret("secret"))

    def accept(request: WebhookRequest) -> str | None:
        headers = request.headers
        msg_id = headers.get("webhook-id", "")
        if not msg_id or len(msg_id) > MAX_ID:
            raise WebhookRejected("webhook-id is empty or too long")
        try:
            timestamp = int(headers.get("webhook-timestamp", ""))
        except ValueError:
            raise WebhookRejected("webhook-timestamp is not a number") from None
        if abs(time.time() - timestamp) > TOLERANCE:
            raise WebhookRejected("webhook-timestamp is outside the 5-minute window")
        signed = f"{msg_id}.{timestamp}.".encode() + request.body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
        for candidate in headers.get("webhook-signature", "").split():
            if candidate.startswith("v1,") and hmac.compare_digest(
                candidate[3:].encode(), expected
            ):
                break
        else:
            raise WebhookRejected("no valid v1 signature")
        try:
            data = json.loads(request.body)
        except ValueError:
            raise WebhookMalformed("the body is not valid JSON") from None
        ignore = isinstance(data, dict) and "type" in data and "answers" not in data
        return None if ignore else msg_id

    return accept


def handwritten_platform() -> Platform:
    """``standard-webhooks`` with the baseline verifier, under a kind of its own."""
    base = platform("standard-webhooks")
    assert base.webhooks is not None
    return replace(
        base, kind=HANDWRITTEN, webhooks=replace(base.webhooks, verifier=handwritten_verifier)
    )


def create_app():
    """The web app with both verifiers (gunicorn ``benchmarks.verifiers:create_app()``)."""
    from service.web.app import create_app as create_service_app

    register(handwritten_platform())
    return create_service_app()
