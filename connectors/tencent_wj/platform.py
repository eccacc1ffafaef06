"""腾讯问卷 Tencent Wenjuan as pingyi sees it: options, setup, webhooks, polling, links.

``source add`` builds the source's titles (units by code or name, labels by themselves, the map
file for the rest), fetches an access token (refused credentials are named there and then) and
reads the first page of answers. The reference this connector was built from documents no call
that gives the form's matrix rows, so the answers are the form as far as pingyi can see it: the
rows and chosen options of those already given are checked, and any that are not units or not on
the scale are refused by name. Rows and options that first appear later are checked on sight: the
ballot carrying them is kept as rejected, naming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from connectors.base import (
    ConfigError,
    Platform,
    Polling,
    SetupContext,
    SetupResult,
    SourceSettings,
    Webhooks,
)
from connectors.http import RetryPolicy
from connectors.tencent_wj import hooks
from connectors.tencent_wj.answers import number_of, structure
from connectors.tencent_wj.poll import describe_cursor, open_poller
from connectors.tencent_wj.settings import (
    TencentWjOptionsSchema,
    api_of,
    link_param,
    only_questions,
    stored_config,
)
from connectors.titles import Titles, parse_title_map

KIND = "tencent-wj"
# Answers read at ``source add`` to check the form.
SETUP_PAGE = 50


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
    if len(context.criteria) > 1:
        raise ConfigError(
            f"the rules score {len(context.criteria)} criteria; a tencent-wj source reads one "
            "answer per unit (a matrix row), so it takes rules with one criterion"
        )
    given = parse_title_map(options["map"], "the map file") if options.get("map") else None
    titles = Titles.build(context, given)
    only = only_questions(options)
    policy = _policy(context.budget, float(options["timeout"]))
    with api_of(settings, policy) as api:
        items, _following, total = api.list_answers(0, SETUP_PAGE)
    rows, chosen = structure(items, only)
    problems = titles.problems(rows, [o for o in chosen if number_of(o) is None])
    if problems:
        raise ConfigError(
            f"survey {options['survey']}: its answers show what does not fit the round: "
            + "; ".join(problems)
            + " (retitle them on the platform, or name them in a map file: --map)"
        )
    config = stored_config(options)
    hook = hooks.hook_path(settings.secret("secret"), settings.name)
    units = sorted({u for key, title in rows if (u := titles.unit(key, title))})
    lines = [_describe(config)]
    notes = []
    if items:
        lines.append(
            f"{len(items)} of {total if total is not None else len(items)} answers checked: "
            f"{len(rows)} rows, all units ({len(units)} of {len(context.units)}), "
            f"{len(chosen)} option texts, all on the scale"
        )
    else:
        notes.append(
            "no answers yet, so no row or option could be checked: submit one test answer on "
            "the platform and add the source again with --replace to check the form now"
        )
    lines.append(f"webhook URL to set on the platform: https://<this service>{hook}")
    lines.append("  (keep it private; it changes when the app secret changes)")
    mapping = {
        "question": options.get("question") or "every matrix question",
        "titles": titles.to_json(),
    }
    summary = {
        "survey": config["survey"],
        "appid": config["appid"],
        "token_field": config["token_field"],
        "answers_checked": len(items),
        "rows": len(rows),
        "units_seen": len(units),
    }  # no webhook URL: its key proves deliveries, so only the command line prints it
    return SetupResult(
        config=config,
        mapping=mapping,
        summary=summary,
        lines=lines,
        notes=notes,
        hook=f"/hooks/{settings.name}/<key>",  # the key only in the lines, above
    )


def _link(settings: SourceSettings, seat_token: str) -> str:
    link = settings.config.get("link")
    if not link:
        raise ConfigError(
            f"source {settings.name} has no --link (the survey's share link): add it again "
            "with --link URL --replace"
        )
    glue = "&" if "?" in link else "?"
    return f"{link}{glue}{link_param(settings.config)}={quote(seat_token, safe='')}"


def _describe(config: Mapping[str, Any]) -> str:
    return (
        f"survey {config.get('survey')} at {config.get('url')}, app {config.get('appid')}, "
        f"token from {config.get('token_field') or 'openid'}"
    )


PLATFORM = Platform(
    kind=KIND,
    title="腾讯问卷 Tencent Wenjuan: polled through its OpenAPI, webhooks as a hint",
    options=TencentWjOptionsSchema,
    setup=_setup,
    webhooks=Webhooks(
        headers=hooks.HEADERS,
        kept=hooks.HEADERS,
        verifier=hooks.verifier,
        parse=hooks.parse,
        keyed=True,
    ),
    # Not in order: an answer edited later comes back (by webhook) under its old id.
    polling=Polling(open=open_poller, in_order=False),
    link=_link,
    describe=_describe,
    describe_cursor=describe_cursor,
)
