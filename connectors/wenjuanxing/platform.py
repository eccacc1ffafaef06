"""问卷星 Wenjuanxing as pingyi sees it: its ``source add`` options, setting a source up, its
signed push, its export, and personal links (docs/platforms/wenjuanxing.md).

问卷星 cannot be asked for a survey's structure without an account pingyi may not have, so the
structure comes in a file (``--structure``, the survey's structure JSON) and the office's map file
(``--map``); setup refuses a survey that cannot work, naming its rows and options, before
anything is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from marshmallow import Schema, fields, validate

from connectors.base import (
    ENV_NAME,
    ConfigError,
    Platform,
    Polling,
    SetupContext,
    SetupResult,
    SourceSettings,
    Webhooks,
    option,
)
from connectors.titles import parse_title_map
from connectors.wenjuanxing import push
from connectors.wenjuanxing.export import read_export
from connectors.wenjuanxing.openapi import describe_cursor, open_poller
from connectors.wenjuanxing.redirect import aes_key
from connectors.wenjuanxing.survey import build_map, parse_structure

KIND = "wenjuanxing"
DEFAULT_LINK = "https://www.wjx.cn/vm/{activity}.aspx"
MAX_TOKEN = 100  # the link parameter holds at most 100 characters


class WenjuanxingOptionsSchema(Schema):
    """``source add`` options; ``map`` and ``structure`` are files read into the mapping."""

    activity = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{1,20}$", error="not a 问卷星 survey id (digits)"),
        metadata=option("问卷星 survey id (the push's activity)."),
    )
    secret_env = fields.String(
        validate=ENV_NAME,
        metadata=option("Environment variable holding the 问卷星 push key.", secret="secret"),
    )
    map = fields.String(
        metadata=option("Map file (TOML): [units], [answers], [comments].", file=True)
    )
    structure = fields.String(
        metadata=option("问卷星 survey structure (JSON: q5, q5_1, q5_1#1 keys).", file=True)
    )
    link = fields.String(
        validate=validate.Regexp(r"^https?://\S+$", error="not an http(s) link"),
        metadata=option("问卷星 survey link for personal links (default: wjx.cn/vm/<activity>)."),
    )
    aes_key_env = fields.String(
        validate=ENV_NAME,
        metadata=option(
            "Environment variable holding the AES key of 问卷星's redirect push.", secret="aeskey"
        ),
    )
    app_id = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata=option("问卷星 OpenAPI appid: polls answers (action 1001002) to reconcile."),
    )
    app_key_env = fields.String(
        validate=ENV_NAME,
        metadata=option(
            "Environment variable holding the 问卷星 OpenAPI app key.", secret="appkey"
        ),
    )
    url = fields.String(
        validate=validate.Regexp(r"^https?://[^\s/]+(:\d+)?/?$", error="not an http(s) base URL"),
        metadata=option("Base URL of the platform API (default: https://www.wjx.cn)."),
    )


def _setup(settings: SourceSettings, context: SetupContext) -> SetupResult:
    options = settings.config
    if not context.units:
        raise ConfigError("there are no units yet (pingyi import units FILE first)")
    given = parse_title_map(options["map"], "the map file") if options.get("map") else None
    structure = (
        parse_structure(options["structure"], "the structure file")
        if options.get("structure")
        else None
    )
    if bool(options.get("app_id")) != bool(options.get("app_key_env")):
        raise ConfigError("polling needs both --app-id and --app-key-env")
    if not any(options.get(f) for f in ("secret_env", "aes_key_env", "app_key_env")):
        raise ConfigError(
            "give --secret-env (signed pushes), --aes-key-env (redirect pushes) or --app-id "
            "and --app-key-env (polls)"
        )
    if settings.secrets.get("aeskey"):
        aes_key(settings.secrets["aeskey"], settings.secret_vars["aeskey"])  # refused now
    survey, notes = build_map(context, given, structure)
    var = settings.secret_vars["secret"]
    needs = (("secret", "the web process"), ("aeskey", "the web process"), ("appkey", "the poller"))
    for secret, who in needs:
        name = settings.secret_vars[secret]
        if name and not settings.secrets.get(secret):
            notes.append(f"${name} is not set here; {who} needs it (e.g. in .env)")
    stored = survey.to_json()
    config = {"activity": options["activity"]}
    for field in ("secret_env", "aes_key_env", "link", "app_id", "app_key_env", "url"):
        if options.get(field):
            config[field] = options[field]
    units = len(set(survey.rows.values()))
    summary = {
        "activity": options["activity"],
        "secret_env": var or None,
        "polled": bool(options.get("app_key_env")),
        "units": units,
        "rows": sorted(survey.rows, key=_key_order),
        "structured": survey.structured,
        "comments": len(survey.comments),
    }
    lines = [
        _describe(config),
        f"{units} units in rows {', '.join(sorted(survey.rows, key=_key_order)[:6])}"
        + (" …" if len(survey.rows) > 6 else ""),
    ]
    if survey.comments:
        lines.append(f"comments: {', '.join(sorted(survey.comments))}")
    return SetupResult(config=config, mapping=stored, summary=summary, lines=lines, notes=notes)


def _key_order(key: str) -> tuple[int, ...]:
    return tuple(int(part) for part in key[1:].split("_"))


def link(settings: SourceSettings, seat_token: str) -> str:
    """A seat's personal link: the survey's link with ``sojumpparm`` carrying the seat token,
    which 问卷星 stores with the answer and sends back in the push and the export."""
    if len(seat_token) > MAX_TOKEN:
        raise ConfigError(f"a seat token over {MAX_TOKEN} characters does not fit sojumpparm")
    base = settings.config.get("link") or DEFAULT_LINK.format(activity=settings.config["activity"])
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}sojumpparm={quote(seat_token, safe='')}"


def _describe(config: Mapping[str, Any]) -> str:
    ways = [w for w, on in (("signed pushes", config.get("secret_env")),
                            ("redirect pushes", config.get("aes_key_env")),
                            ("OpenAPI polls", config.get("app_key_env"))) if on]  # fmt: skip
    return f"问卷星 survey {config.get('activity')}, {' and '.join(ways)}"


PLATFORM = Platform(
    kind=KIND,
    title="问卷星 Wenjuanxing (signed push, export for reconciliation)",
    options=WenjuanxingOptionsSchema,
    setup=_setup,
    webhooks=Webhooks(
        headers=push.HEADERS, kept=push.KEPT, verifier=push.verifier, parse=push.parse
    ),
    # Not in order as far as pingyi knows: the API's sort order is not documented.
    polling=Polling(open=open_poller, in_order=False),
    export=read_export,
    link=link,
    describe=_describe,
    describe_cursor=describe_cursor,
)
