"""A toy survey platform, declared only through the contract of ``connectors/base.py``.

It offers everything a platform can, in the simplest form that still needs each part to work:
options with a secret and a flag, a setup that needs its secret, webhooks signed with an HMAC
over the body in its own headers, optionally with a key in the URL (a ``ping`` event is
ignored), tokens carried in a form of its
own (so the inbox must map them back to seats), a CSV export, and personal links. The tests
register it through the registry's one public way in, and nothing outside the test changes.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from decimal import Decimal
from pathlib import Path

from marshmallow import Schema, fields, validate

from connectors.base import (
    ENV_NAME,
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
from connectors.canonical import RawRecord, load_ballot

KIND = "toy"
URL_KEY = "open-sesame"  # /hooks/<source>/<key>: the toy also takes a key in its URL


class ToyOptionsSchema(Schema):
    form = fields.String(
        required=True, validate=validate.Length(min=1, max=20), metadata=option("Toy form id.")
    )
    key_env = fields.String(
        required=True,
        validate=ENV_NAME,
        metadata=option("Environment variable holding the toy signing key.", secret="key"),
    )
    loud = fields.Boolean(load_default=False, metadata=option("Say more when added."))


def platform_token(seat_token: str) -> str:
    """The toy platform keeps 12-character codes, not pingyi's tokens."""
    return "t" + hashlib.sha256(seat_token.encode()).hexdigest()[:11]


def signature(key: str, body: bytes) -> str:
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def _setup(settings: SourceSettings, context: SetupContext) -> SetupResult:
    settings.secret("key")  # refused, naming the variable, when it is not set
    form = settings.config["form"]
    lines = [f"form {form}, {len(context.units)} units"]
    if settings.config["loud"]:
        lines.append("loud")
    return SetupResult(
        config={"form": form, "key_env": settings.secret_vars["key"]},
        summary={"form": form},
        lines=lines,
    )


def _verifier(settings: SourceSettings) -> Verifier:
    key = settings.secret("key")

    def accept(request: WebhookRequest) -> str | None:
        if request.key not in (None, URL_KEY):  # as a platform that cannot sign would check
            raise WebhookRejected("wrong key in the URL")
        given = request.headers["x-toy-signature"]
        if not hmac.compare_digest(given.encode(), signature(key, request.body).encode()):
            raise WebhookRejected("bad toy signature")
        try:
            data = json.loads(request.body)
        except ValueError:
            raise WebhookMalformed("not JSON") from None
        if data.get("event") == "ping":
            return None
        return request.headers["x-toy-delivery"] or None

    return accept


def _parse(settings: SourceSettings, delivery: Delivery) -> list[RawRecord]:
    data = json.loads(delivery.body, parse_float=Decimal)
    where = f"{settings.name} delivery {delivery.id}"
    return [load_ballot(item, where, json.dumps(item)) for item in data["answers"]]


def _export(path: Path, _source: SourceSettings | None) -> list[RawRecord]:
    """``id,token,submitted_at`` then one column per unit."""
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    records = []
    for n, row in enumerate(rows, start=2):
        ballot = {
            "id": row.pop("id"),
            "token": row.pop("token"),
            "submitted_at": row.pop("submitted_at"),
            "answers": {unit: answer for unit, answer in row.items() if answer},
        }
        records.append(load_ballot(ballot, f"{path.name}, line {n}", json.dumps(ballot)))
    return records


def _link(settings: SourceSettings, seat_token: str) -> str:
    return f"https://toy.example/f/{settings.config['form']}?t={platform_token(seat_token)}"


TOY = Platform(
    kind=KIND,
    title="a toy platform for the contract tests",
    options=ToyOptionsSchema,
    setup=_setup,
    webhooks=Webhooks(
        headers=("x-toy-signature", "x-toy-delivery"),
        kept=("x-toy-delivery",),
        verifier=_verifier,
        parse=_parse,
    ),
    export=_export,
    link=_link,
    platform_token=platform_token,
    describe=lambda config: f"form {config.get('form')}",
)
