"""金数据 Jinshuju as pingyi sees it: ``source add`` options, setup, polling, the push, links.

``source add`` reads the form's schema (``GET /api/v1/forms/{form}``) and builds the mapping there
and then (:mod:`connectors.jinshuju.form`), so a form whose rows are not units or whose columns
are off the scale is refused, naming them, before anything is stored. It prints the push address
(:mod:`connectors.jinshuju.hooks`). Polling pages through the entries with the API's ``next``
mark; the push is a hint that the inbox re-reads. The office's side is in
docs/platforms/jinshuju.md. There is no export reader: the Excel export's headers are unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from marshmallow import Schema, fields, validate

from connectors.base import (
    ENV_NAME,
    ConfigError,
    Delivery,
    Page,
    Platform,
    Polling,
    SetupContext,
    SetupResult,
    SourceSettings,
    Webhooks,
    option,
)
from connectors.canonical import RawRecord
from connectors.http import RetryPolicy
from connectors.jinshuju import hooks
from connectors.jinshuju.client import DEFAULT_URL, JinshujuApi
from connectors.jinshuju.entries import entry_record, serial_of
from connectors.jinshuju.form import FormMap, build_form_map
from connectors.titles import parse_title_map

KIND = "jinshuju"
STORED = ("form", "url", "key_env", "secret_env")
# Re-reading a pushed entry happens in the inbox job, inside its transaction: a short try, since
# the inbox tries the delivery again later (and the poll reconciles) rather than wait minutes.
# Entries stored per transaction by a poll (ten API pages of 50).
BATCH = 500
REREAD_POLICY = RetryPolicy(read_timeout=10.0, attempts=2, base_delay=0.5, max_total_wait=5.0)


class JinshujuOptionsSchema(Schema):
    """``source add`` options: the stored configuration, and the map file the mapping uses."""

    form = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$", error="not a 金数据 form token"),
        metadata=option("Form token (the FORM of https://jinshuju.net/f/FORM)."),
    )
    key_env = fields.String(
        required=True,
        validate=ENV_NAME,
        metadata=option("Environment variable holding the API Key.", secret="key"),
    )
    secret_env = fields.String(
        required=True,
        validate=ENV_NAME,
        metadata=option("Environment variable holding the API Secret.", secret="secret"),
    )
    url = fields.Url(
        load_default=DEFAULT_URL,
        require_tld=False,
        schemes={"http", "https"},
        metadata=option("金数据 address (a stand-in's in tests)."),
    )
    map = fields.String(
        metadata=option("Map file (TOML): [units], [answers], [comments].", file=True)
    )


def _api(settings: SourceSettings, policy: RetryPolicy | None = None) -> JinshujuApi:
    """A client for the source; a refusal names the variables (never their values)."""
    key, secret = settings.secret("key"), settings.secret("secret")
    hint = f" (from ${settings.secret_vars['key']} and ${settings.secret_vars['secret']})"
    config = settings.config
    return JinshujuApi(config.get("url") or DEFAULT_URL, config["form"], key, secret, policy, hint)


def _budget_policy(budget: float | None) -> RetryPolicy | None:
    """Within a caller's time budget (the API's source add): one call, retried once."""
    if budget is None:
        return None
    share = max(1.0, budget / 3)
    return RetryPolicy(read_timeout=share, attempts=2, max_total_wait=share)


def _form_map(settings: SourceSettings) -> FormMap:
    """The source's stored mapping (``sources.mapping``, handed to pollers and the inbox's
    parsers alike)."""
    stored = settings.mapping
    if not stored:
        raise ConfigError(f"source {settings.name}: no 金数据 mapping stored; add it again")
    return FormMap.from_json(stored)


def _setup(settings: SourceSettings, context: SetupContext) -> SetupResult:
    options = settings.config
    given = parse_title_map(options["map"], "the map file") if options.get("map") else None
    api = _api(settings, _budget_policy(context.budget))
    try:
        schema = api.form_schema()
    finally:
        api.close()
    forms, notes = build_form_map(options["form"], schema, context, given)
    notes += _setting_notes(schema.get("setting"), settings)
    config = {k: options[k] for k in STORED}
    mapping = forms.to_json()
    path = hooks.hook_path(settings)
    return SetupResult(
        config=config,
        mapping=mapping,
        summary={
            "form": options["form"],
            "form_name": str(schema.get("name") or ""),
            "matrices": [m.code for m in forms.matrices],
            "units": len(forms.units()),
            "comments": len(forms.comments),
        },
        lines=[
            _describe(config),
            *forms.describe(),
            f"金数据 数据推送 address: https://<this server>{path}",
            "  (keep it private; it changes when the API secret changes)",
        ],
        notes=notes,
        hook=f"/hooks/{settings.name}/<key>",  # the key only on the command line, above
    )


def _setting_notes(setting: Any, settings: SourceSettings) -> list[str]:
    """What the form's own settings say about the push, where the schema shows them."""
    if not isinstance(setting, dict):
        return []
    notes = []
    url = setting.get("entry_post_url")
    if url and f"/hooks/{settings.name}/" not in str(url):
        notes.append("the form pushes to another address: set its 数据推送 to the address below")
    elif not url:
        notes.append("the form has no 数据推送 address yet: polling alone will bring its entries")
    if url and setting.get("post_updated_entry") is False:
        notes.append("推送更新数据 is off: an edited entry is seen only by pingyi poll --full")
    return notes


class JinshujuPoller:
    """Pages through a form's entries. The cursor is ``{"next": mark, "seen": serial}``: the
    page mark to read from (the API's own ``next``, passed back as given) and the highest serial
    number seen. A page with a ``next`` that moves is followed; every BATCH entries are handed
    over with the cursor after them (``done=False``), so a failure later on keeps what was
    stored. At the last page the cursor stays at that page's mark, so the next
    poll re-reads it (one request when nothing is new) and finds what was added to it. Whether
    ``next`` counts from or after the serial it names is not documented; passing it back as
    given and re-reading the last page is right either way."""

    def __init__(self, settings: SourceSettings, policy: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.forms = _form_map(settings)
        self.api = _api(settings, policy)

    @property
    def calls(self) -> Mapping[str, int]:
        return dict(self.api.calls)

    def close(self) -> None:
        self.api.close()

    def poll(self, cursor: Any, full: bool = False) -> Page:
        """API pages from the cursor's mark until BATCH entries or the last page: one stored
        transaction per batch, not per page of 50 (each store also settles the round)."""
        before = {} if full or not isinstance(cursor, dict) else cursor
        start, seen = before.get("next"), before.get("seen") or 0
        where = f"{self.settings.name} poll"
        records: list[RawRecord] = []
        while True:
            page = self.api.entries(start)
            entries = page["data"]
            records += [entry_record(e, self.forms, where) for e in entries]
            seen = max([seen, *(s for e in entries if (s := serial_of(e)) is not None)])
            mark = page.get("next")
            more = bool(entries) and mark not in (None, "") and str(mark) != str(start)
            if not more:
                return Page(records, {"next": start, "seen": seen}, done=True)
            start = mark
            if len(records) >= BATCH:
                return Page(records, {"next": start, "seen": seen}, done=False)


def _open(settings: SourceSettings, **options: Any) -> JinshujuPoller:
    return JinshujuPoller(settings, options.get("policy"))


def _parse(settings: SourceSettings, delivery: Delivery) -> list[RawRecord]:
    api = _api(settings, REREAD_POLICY)
    try:
        return hooks.parse(settings, delivery, api, _form_map(settings))
    finally:
        api.close()


def _link(settings: SourceSettings, seat_token: str) -> str:
    base = str(settings.config.get("url") or DEFAULT_URL).rstrip("/")
    form = quote(str(settings.config["form"]), safe="")
    return f"{base}/f/{form}?x_field_1={quote(seat_token, safe='')}"


def _describe(config: Mapping[str, Any]) -> str:
    return (
        f"form {config.get('form')} at {config.get('url')}, key ${config.get('key_env')}, "
        f"secret ${config.get('secret_env')}"
    )


def _describe_cursor(cursor: Any) -> str:
    cursor = cursor if isinstance(cursor, dict) else {}
    mark = cursor.get("next")
    return f"serial numbers up to {cursor.get('seen') or 0}, next read from {mark or 'the start'}"


PLATFORM = Platform(
    kind=KIND,
    title="金数据 Jinshuju, polled through its v1 API; its push is a hint, re-read",
    options=JinshujuOptionsSchema,
    setup=_setup,
    webhooks=Webhooks(
        headers=("x-requested-by", "user-agent"),
        kept=("x-requested-by", "user-agent"),
        verifier=hooks.verifier,
        parse=_parse,
        keyed=True,
    ),
    # Serial numbers are given in submission order and the entries come sorted by them.
    polling=Polling(open=_open, in_order=True),
    link=_link,
    describe=_describe,
    describe_cursor=_describe_cursor,
)
