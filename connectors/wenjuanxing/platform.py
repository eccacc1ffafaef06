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
    SetupContext,
    SetupResult,
    SourceSettings,
    Webhooks,
    option,
)
from connectors.titles import parse_title_map
from connectors.wenjuanxing import push
from connectors.wenjuanxing.export import read_export
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
        required=True,
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
    survey, notes = build_map(context, given, structure)
    var = settings.secret_vars["secret"]
    if not settings.secrets.get("secret"):
        notes.append(f"${var} is not set here; the web process needs it (e.g. in .env)")
    stored = survey.to_json()
    config = {"activity": options["activity"], "secret_env": var, "survey_map": stored}
    if options.get("link"):
        config["link"] = options["link"]
    units = len(set(survey.rows.values()))
    summary = {
        "activity": options["activity"],
        "secret_env": var,
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
    return f"问卷星 survey {config.get('activity')}, signed pushes"


PLATFORM = Platform(
    kind=KIND,
    title="问卷星 Wenjuanxing (signed push, export for reconciliation)",
    options=WenjuanxingOptionsSchema,
    setup=_setup,
    webhooks=Webhooks(
        headers=push.HEADERS, kept=push.KEPT, verifier=push.verifier, parse=push.parse
    ),
    export=read_export,
    link=link,
    describe=_describe,
)
