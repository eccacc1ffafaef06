"""金数据's 数据推送 as a hint: a secret URL, then the entry re-read through the API.

金数据 signs nothing (no signature header or field is known), so a push proves nothing about its
body. It is taken as a hint only:

- **The URL carries a per-source key**: the push goes to ``/hooks/<source>/<key>``. The key is
  derived, not configured: the first 32 hex digits of HMAC-SHA256 keyed with the source's API
  secret over ``pingyi-jinshuju-hook|<source>``. Nothing extra has to be generated, stored or
  handed around; every source has its own; a leaked push URL (it is visible in the form's
  settings and in proxy logs) reveals nothing of the API secret; and rotating the API secret
  retires the old URL too. The web process needs the API secret's variable for it (it never
  calls the API with it).
- **The verifier answers fast**: 金数据 wants a 2xx within 2 s, so the verifier only compares the
  key (constant time) and reads the serial number from the body, with no network call. The
  delivery id is ``<serial>@<updated_at>``, so an edited entry pushed again is a new delivery
  and the same push retried is the same one.
- **The inbox re-reads**: :func:`parse` asks the API for the entry by serial number and makes
  the record from the API's answer. An entry the API does not have becomes a rejected record
  saying so; the push body never becomes a ballot.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from connectors.base import (
    Delivery,
    SourceSettings,
    Verifier,
    WebhookMalformed,
    WebhookRejected,
    WebhookRequest,
)
from connectors.canonical import RawRecord, decode_json
from connectors.jinshuju.client import EntryNotFound, JinshujuApi
from connectors.jinshuju.entries import entry_record, serial_of
from connectors.jinshuju.form import FormMap

HOOK_CONTEXT = "pingyi-jinshuju-hook|"
KEY_DIGITS = 32


def hook_key(api_secret: str, source: str) -> str:
    """The URL key of a source's pushes (see the module docstring)."""
    digest = hmac.new(api_secret.encode(), (HOOK_CONTEXT + source).encode(), hashlib.sha256)
    return digest.hexdigest()[:KEY_DIGITS]


def hook_path(settings: SourceSettings) -> str:
    """The path to give 金数据 as the 数据推送 address (after this server's address)."""
    return f"/hooks/{settings.name}/{hook_key(settings.secret('secret'), settings.name)}"


def _push(body: bytes) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(serial number, entry, envelope) of a push body; WebhookMalformed when it is not one."""
    try:
        data = decode_json(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookMalformed("the body is not UTF-8 JSON") from None
    entry = data.get("entry") if isinstance(data, dict) else None
    serial = serial_of(entry)
    if serial is None:
        raise WebhookMalformed("not a 金数据 push: no entry.serial_number")
    return serial, entry, data  # type: ignore[return-value]


def verifier(settings: SourceSettings) -> Verifier:
    """Built once per source in the web process: the key is derived once, here."""
    expected = hook_key(settings.secret("secret"), settings.name).encode()
    form = str(settings.config.get("form"))

    def accept(request: WebhookRequest) -> str | None:
        if not request.key:
            raise WebhookRejected(
                "a jinshuju source takes pushes only at /hooks/<source>/<key> "
                "(the address source add printed): no key in the URL"
            )
        if not hmac.compare_digest(request.key.encode(), expected):
            raise WebhookRejected("wrong key in the URL")
        serial, entry, data = _push(request.body)
        pushed_form = data.get("form")
        if pushed_form not in (None, "", form):
            raise WebhookMalformed(f"a push of form {pushed_form!r}; this source reads form {form}")
        updated = entry.get("updated_at")
        suffix = f"@{updated}" if isinstance(updated, str) and 0 < len(updated) <= 64 else ""
        return f"{serial}{suffix}"

    return accept


def parse(
    settings: SourceSettings, delivery: Delivery, api: JinshujuApi, forms: FormMap
) -> list[RawRecord]:
    """The pushed entry as the API has it now (``api``: an open client, ``forms``: the source's
    FormMap). A failure to read raises ConnectorError, so the inbox tries the delivery again."""
    where = f"{settings.name} push {delivery.id}"
    text = delivery.body.decode("utf-8", errors="backslashreplace")
    try:
        serial, _, _ = _push(delivery.body)
    except WebhookMalformed as exc:  # stored by an older verifier: kept, named
        return [RawRecord(where, text, error=f"{where}: {exc}")]
    try:
        entry = api.entry(serial)
    except EntryNotFound:
        return [
            RawRecord(
                where,
                text,
                error=(
                    f"{where}: the 金数据 API has no entry {serial} in form {api.form}; "
                    "the push is not trusted"
                ),
                response_id=str(serial),
            )
        ]
    if serial_of(entry) != serial:
        return [
            RawRecord(
                where,
                text,
                error=f"{where}: the API answered entry {serial_of(entry)} for entry {serial}",
                response_id=str(serial),
            )
        ]
    return [entry_record(entry, forms, f"{settings.name} (re-read after a push)")]
