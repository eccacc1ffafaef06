"""A 腾讯问卷 source's options and what the stored ones give: its API client, its titles.

The options are the stored configuration, plus the map file, which only shapes the mapping
(stored as the source's :class:`~connectors.titles.Titles`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from connectors.base import ENV_NAME, ConfigError, SourceSettings, option
from connectors.http import RetryPolicy
from connectors.tencent_wj.api import BASE, TencentWjApi
from connectors.titles import Titles

_FIELD = validate.Regexp(
    r"^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63})?$",
    error="a field name: openid, third_party_user, third_party_user.KEY or a custom field",
)
_QUESTIONS = validate.Regexp(r"^[^,\s]+(,[^,\s]+)*$", error="question ids separated by commas")
_PARAM = validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", error="a URL parameter name")


def _link(value: str) -> None:
    if "openid=" in value or value.endswith(("?", "&")):
        raise ValidationError("give the survey's share link without a token parameter")


class TencentWjConfigSchema(Schema):
    """What a 腾讯问卷 source stores; the app secret is named by ``secret_env``."""

    survey = fields.Integer(
        required=True, validate=validate.Range(min=1), metadata=option("Survey id (问卷ID).")
    )
    appid = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,100}$", error="not an app id"),
        metadata=option("App id (应用ID) of the team's API credentials."),
    )
    secret_env = fields.String(
        required=True,
        validate=ENV_NAME,
        metadata=option("Environment variable holding the app secret.", secret="secret"),
    )
    url = fields.Url(
        load_default=BASE,
        require_tld=False,
        schemes={"http", "https"},
        metadata=option("API address."),
    )
    token_field = fields.String(
        load_default="openid",
        validate=_FIELD,
        metadata=option(
            "Where answers carry the seat token: openid, third_party_user[.KEY] or a custom field."
        ),
    )
    link = fields.Url(
        require_tld=False,
        schemes={"http", "https"},
        validate=_link,
        metadata=option("The survey's share link (for personal links)."),
    )
    link_param = fields.String(
        validate=_PARAM,
        metadata=option(
            "Link parameter carrying the token (default: openid, or the custom field)."
        ),
    )
    question = fields.String(
        validate=_QUESTIONS,
        metadata=option(
            "Matrix question ids whose rows are units, comma-separated (default: all)."
        ),
    )
    timeout = fields.Float(
        load_default=60.0,
        validate=validate.Range(min=0.1, max=3600),
        metadata=option("Read timeout, s."),
    )


class TencentWjOptionsSchema(TencentWjConfigSchema):
    """``source add`` options: the stored configuration and the map file."""

    map = fields.String(
        metadata=option("Map file (TOML): [units], [answers], [comments].", file=True)
    )


STORED = tuple(TencentWjConfigSchema().fields)


def stored_config(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: options[k] for k in STORED if options.get(k) is not None}


def only_questions(config: Mapping[str, Any]) -> frozenset[str] | None:
    """The matrix questions read for units (None: every matrix question)."""
    given = config.get("question")
    return frozenset(given.split(",")) if given else None


def link_param(config: Mapping[str, Any]) -> str:
    """The link parameter: as configured, else ``openid`` (also behind third_party_user, which
    the platform's single sign-on fills), else the custom field's own name."""
    if config.get("link_param"):
        return str(config["link_param"])
    field = str(config.get("token_field") or "openid")
    return "openid" if field.split(".")[0] in ("openid", "third_party_user") else field


def api_of(
    settings: SourceSettings, policy: RetryPolicy | None = None, **options: Any
) -> TencentWjApi:
    """The API client of a source (its secret read now; unset: ConfigError naming it)."""
    config = settings.config
    timeout = float(config.get("timeout") or 60.0)
    return TencentWjApi(
        str(config.get("url") or BASE),
        int(config["survey"]),
        str(config["appid"]),
        settings.secret("secret"),
        settings.secret_vars.get("secret", ""),
        policy or RetryPolicy(read_timeout=timeout),
        **options,
    )


def titles_of(settings: SourceSettings) -> Titles:
    """The stored titles, from the source's mapping (``sources.mapping``, handed to pollers and
    the inbox's parsers alike)."""
    if isinstance((settings.mapping or {}).get("titles"), dict):
        return Titles.from_json(settings.mapping["titles"])
    raise ConfigError(f"source {settings.name}: no stored mapping; add it again (--replace)")
