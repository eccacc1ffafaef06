"""Standard Webhooks senders (standardwebhooks.com, spec v1) as a kind of source.

Any sender that signs this way (Formbricks, Svix-based platforms, another pingyi) can push
canonical ballots to ``/hooks/<source>``: the body is one canonical ballot or a JSON array of
them (docs/connectors.md). The signature is checked by :mod:`connectors.signatures`; the ``webhook-id`` is the
delivery id the inbox deduplicates on. Nothing is polled: a sender's retries are the only
redelivery, so its sources are pushed only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields

from connectors.base import (
    ENV_NAME,
    ConfigError,
    Delivery,
    Platform,
    SetupContext,
    SetupResult,
    SourceSettings,
    Verifier,
    WebhookMalformed,
    WebhookRejected,
    WebhookRequest,
    Webhooks,
    option,
)
from connectors.canonical import RawRecord, canonical_text, decode_json, load_ballot
from connectors.signatures import HEADERS, BodyNotText, SignatureRejected, secret_key
from connectors.signatures import Verifier as SignatureVerifier

KIND = "standard-webhooks"


class StandardWebhooksOptionsSchema(Schema):
    """A source's options, all stored: only the name of the variable holding the secret."""

    secret_env = fields.String(
        required=True,
        validate=ENV_NAME,
        metadata=option(
            "Environment variable holding the sender's whsec_ secret.", secret="secret"
        ),
    )


def is_ignored_event(data: object) -> bool:
    """A sender's other events (e.g. ``{"type": "responseCreated", …}``) are not ballots: they
    are answered 200 and not stored, so the sender stops retrying them."""
    return isinstance(data, dict) and "type" in data and "answers" not in data


def parse(body: bytes, delivery_id: str, source: str) -> list[RawRecord]:
    """One canonical ballot or an array of them; a malformed body is kept as a rejected record."""
    where = f"{source} delivery {delivery_id}"
    text = body.decode("utf-8", errors="backslashreplace")
    try:
        data = decode_json(text)
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


def _setup(settings: SourceSettings, _context: SetupContext) -> SetupResult:
    """Nothing to read on a platform: keep the variable's name, and refuse a malformed secret
    now rather than at the first delivery. The secret need not be set where ``source add`` runs
    (the web process is what needs it)."""
    var = settings.secret_vars["secret"]
    value = settings.secrets.get("secret")
    if value:
        try:
            secret_key(value)
        except ValueError as exc:
            raise ConfigError(f"${var}: {exc}") from None
    notes = [] if value else [f"${var} is not set here; the web process needs it (e.g. in .env)"]
    return SetupResult(
        config={"secret_env": var},
        summary={"secret_env": var, "secret_set": bool(value)},
        notes=notes,
    )


def _verifier(settings: SourceSettings) -> Verifier:
    try:
        check = SignatureVerifier(settings.secret("secret"))
    except ValueError as exc:
        raise ConfigError(f"${settings.secret_vars['secret']}: {exc}") from None

    def accept(request: WebhookRequest) -> str | None:
        if request.key is not None:
            raise WebhookRejected("a standard-webhooks source takes no key in its URL")
        try:
            delivery_id, data = check.verify(request.headers, request.body)
        except SignatureRejected as exc:
            raise WebhookRejected(str(exc)) from None
        except (BodyNotText, ValueError):
            raise WebhookMalformed("the body is not valid JSON") from None
        return None if is_ignored_event(data) else delivery_id

    return accept


def _parse(settings: SourceSettings, delivery: Delivery) -> list[RawRecord]:
    return parse(delivery.body, delivery.id, settings.name)


def _describe(config: Mapping[str, Any]) -> str:
    return "signed pushes (Standard Webhooks)"


PLATFORM = Platform(
    kind=KIND,
    title="any sender signing with Standard Webhooks (Formbricks, Svix, another pingyi)",
    options=StandardWebhooksOptionsSchema,
    setup=_setup,
    webhooks=Webhooks(
        headers=(*HEADERS, "content-type", "user-agent"),
        kept=("webhook-id", "webhook-timestamp", "content-type", "user-agent"),
        verifier=_verifier,
        parse=_parse,
    ),
    describe=_describe,
)
