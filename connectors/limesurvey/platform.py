"""LimeSurvey as pingyi sees it: its ``source add`` options, setting a source up, polling, links,
pushing a panel. The client itself is :mod:`connectors.limesurvey.connector`.

``source add`` reads the survey's structure (``get_fieldmap``) and builds the mapping there and
then, so a survey that cannot work is refused with the reason before anything is stored. Its
options are the stored configuration plus three that only shape the mapping (``question``,
``comments``, ``scale``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from marshmallow import fields, validate

from connectors.base import (
    ConfigError,
    CredentialsError,
    Platform,
    Polling,
    PushResult,
    SeatRef,
    SetupContext,
    SetupResult,
    SourceSettings,
    option,
)
from connectors.http import RetryPolicy
from connectors.limesurvey.connector import LimeSurvey, LimeSurveyConfigSchema, survey_link
from connectors.mapping import Scale, parse_scale

KIND = "limesurvey"
CODE = validate.Regexp(r"^[A-Za-z][A-Za-z0-9]*$", error="not a LimeSurvey question code")


class LimeSurveyOptionsSchema(LimeSurveyConfigSchema):
    """``source add`` options: the stored configuration, and what the mapping is built from."""

    question = fields.String(
        load_default="SCORES", validate=CODE, metadata=option("Array question: rows = units.")
    )
    comments = fields.String(
        validate=CODE, metadata=option("Multiple short text question: rows = units.")
    )
    scale = fields.String(
        metadata=option("Scale file (TOML): answer codes, numeric factor, criteria.", file=True)
    )


STORED = tuple(LimeSurveyConfigSchema().fields)


@contextmanager
def _client(settings: SourceSettings, policy: RetryPolicy | None = None) -> Iterator[LimeSurvey]:
    """A client for the source; a refused login names the user and the variable (never the
    password), since that is what the office has to check."""
    config = {k: settings.config[k] for k in STORED if k in settings.config}
    password = settings.secret("password")
    hint = f"user {config.get('username')}, password from ${settings.secret_vars['password']}"
    try:
        with LimeSurvey(config, {"password": password}, policy=policy) as client:
            yield client
    except CredentialsError as exc:
        raise CredentialsError(f"{exc} ({hint})") from None


def _policy(budget: float | None, timeout: float) -> RetryPolicy | None:
    """Within a caller's time budget: each call waits at most a quarter of it, retried once."""
    if budget is None:
        return None
    share = max(1.0, budget / 4)
    return RetryPolicy(read_timeout=min(timeout, share), attempts=2, max_total_wait=share)


def _setup(settings: SourceSettings, context: SetupContext) -> SetupResult:
    options = settings.config
    if not context.units:
        raise ConfigError("there are no units yet (pingyi import units FILE first)")
    scale = parse_scale(options["scale"], "the scale file") if options.get("scale") else Scale()
    with _client(settings, _policy(context.budget, options["timeout"])) as client:
        mapping, notes = client.build_mapping(
            options["question"],
            context.units,
            context.labels,
            context.criteria,
            scale,
            options.get("comments"),
        )
    config = {k: options[k] for k in STORED}
    return SetupResult(
        config=config,
        mapping=mapping.to_json(),
        summary={"survey": config["survey"], **mapping.summary()},
        lines=[_describe(config), *mapping.describe()],
        notes=notes,
    )


def _open(settings: SourceSettings, **options: Any) -> LimeSurvey:
    mapping = None if settings.mapping is None else dict(settings.mapping)
    return LimeSurvey(
        dict(settings.config), {"password": settings.secret("password")}, mapping, **options
    )


def _push_panel(
    settings: SourceSettings, round_id: str, seats: Sequence[SeatRef], with_group: bool
) -> PushResult:
    with _client(settings) as client:
        return client.push_panel(round_id, seats, with_group)


def _link(settings: SourceSettings, seat_token: str) -> str:
    return survey_link(settings.config, seat_token)


def _describe(config: Mapping[str, Any]) -> str:
    return f"survey {config.get('survey')} at {config.get('url')}, user {config.get('username')}"


def _describe_cursor(cursor: Any) -> str:
    cursor = cursor or {}
    return (
        f"response ids up to {cursor.get('max_id') or 0}, "
        f"{len(cursor.get('pending') or [])} incomplete"
    )


PLATFORM = Platform(
    kind=KIND,
    title="LimeSurvey (self-hosted), polled through RemoteControl 2",
    options=LimeSurveyOptionsSchema,
    setup=_setup,
    # Not in order: an incomplete response completes later under its old id.
    polling=Polling(open=_open, in_order=False),
    link=_link,
    platform_token=LimeSurvey.platform_token,
    push_panel=_push_panel,
    describe=_describe,
    describe_cursor=_describe_cursor,
)
