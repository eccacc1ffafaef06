"""Sources: adding one, listing them, pushing a round's panel and writing its seats' links.

One path for the command line and the API (``pingyi source add`` and ``POST /api/v1/sources``):
both hand the options over as a mapping, and everything platform-specific is asked of the
registry's :class:`~connectors.base.Platform`. Secrets are read from the caller's
:class:`~service.config.Config` (the environment it was loaded from) by the variable names a
source stores; no value is stored, returned or logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from connectors.base import ConfigError, Platform, PushResult, SeatRef, SetupContext, SourceSettings
from connectors.registry import UnknownKind, platform, source_kinds
from jobs.draw.ceremony import LinkRow
from service.config import Config
from service.models.sources import Source
from service.store.engine import StoreError, session_scope
from service.store.round_units import round_units
from service.store.rounds import get_round
from service.store.sources import (
    add_source,
    find_source,
    get_source,
    list_sources,
    record_push,
    round_seats,
    seat_holders,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Added:
    """What adding a source did: JSON for ``--json`` and the API, lines for people."""

    summary: dict[str, Any]
    lines: list[str] = field(default_factory=list)


def source_platform(kind: str) -> Platform:
    """The platform of a source kind; a kind that is no source kind is refused with the known."""
    found = platform(kind) if kind in source_kinds() else None
    if found is None:
        raise ConfigError(f"unknown source kind {kind!r} (known: {', '.join(source_kinds())})")
    return found


def settings_of(source: Source, config: Config) -> SourceSettings:
    """A stored source as its platform is told about it, secrets read through ``config``."""
    return platform(source.kind).settings(
        source.name, dict(source.config or {}), config.environ, source.mapping
    )


def export_source(
    session: Session, name: str, round_id: str, fmt: str, config: Config
) -> SourceSettings:
    """The source a platform export is read for (``ingest --source NAME``): it must take ballots
    for this round and be of the export's platform, or the file's records would be keyed under
    a source they never came from."""
    source = get_source(session, name)
    if source.round_id != round_id:
        raise StoreError(
            f"source {name!r} takes ballots for round {source.round_id!r}, not {round_id!r}"
        )
    if source.kind != fmt:
        raise StoreError(
            f"source {name!r} is a {source.kind} source; its exports are --format {source.kind}"
        )
    return settings_of(source, config)


def add(
    engine: Engine,
    config: Config,
    name: str,
    kind: str,
    round_id: str,
    options: Mapping[str, Any],
    replace: bool = False,
    budget: float | None = None,
) -> Added:
    """Check the options, set the source up on its platform (read the survey's structure, build
    the mapping), then store it; with ``replace``, an existing source gets the new configuration
    and mapping and keeps its cursor. ``budget``: seconds the caller can wait for the platform."""
    found = source_platform(kind)
    loaded = found.load_options(options)
    with session_scope(engine) as session:
        get_round(session, round_id)
        if not replace and find_source(session, name) is not None:
            raise StoreError(f"source {name!r} already exists (use --replace to rebuild it)")
        names = {code: name for code, name, _ in round_units(session, round_id)}
    rules = config.rules
    context = SetupContext(
        list(names), [*rules.scale, *rules.no_vote], [c.name for c in rules.criteria], budget,
        names,
    )  # fmt: skip
    result = found.setup(found.settings(name, loaded, config.environ), context)
    with session_scope(engine) as session:
        add_source(session, name, kind, round_id, result.config, result.mapping, replace)
    logger.info("source %s (%s) %s for round %s", name, kind, "replaced" if replace else "added",
                round_id)  # fmt: skip
    # A platform with its own hook path (a URL key) shows it itself; see SetupResult.hook.
    hook = (result.hook or found.webhooks.path(name)) if found.webhooks is not None else None
    summary = {
        "source": name,
        "kind": kind,
        "round": round_id,
        "replaced": replace,
        **result.summary,
        "hook": hook,
        "polled": found.polling is not None,
        "notes": result.notes,
    }
    lines = [*result.lines]
    if hook and result.hook is None:
        lines.append(f"senders POST to {hook}")
    return Added(summary, [*lines, *(f"note: {n}" for n in result.notes)])


def describe(session: Session, config: Config) -> list[dict[str, Any]]:
    """Every source with its configuration (variable names, never values), whether each secret
    is set here, and its last poll and error."""
    rows = []
    for s in list_sources(session):
        stored = dict(s.config or {})
        try:
            found = platform(s.kind)
        except UnknownKind:  # its platform is no longer registered: show what is stored
            found = Platform(kind=s.kind, title="", describe=lambda _c: "(unknown kind)")
        # An optional secret the source does not use has no variable: nothing to report.
        secrets = {
            k: v for k, v in found.settings(s.name, stored, config.environ).secret_vars.items() if v
        }
        rows.append(
            {
                "name": s.name,
                "kind": s.kind,
                "round": s.round_id,
                "config": stored,
                "secrets": dict(secrets),
                "secrets_set": {var: config.secret(var) is not None for var in secrets.values()},
                "question": (s.mapping or {}).get("question"),
                "hook": found.webhooks.path(s.name) if found.webhooks is not None else None,
                "polled": found.polling is not None,
                "last_poll_at": s.last_poll_at.isoformat() if s.last_poll_at else None,
                "last_error": s.last_error,
                "cursor": s.cursor,
                "described": found.describe(stored) if found.describe else None,
                "progress": (
                    found.describe_cursor(s.cursor)
                    if found.describe_cursor and found.polling
                    else None
                ),
            }
        )
    return rows


def push_panel(
    engine: Engine, config: Config, name: str, with_group: bool = False
) -> tuple[str, PushResult]:
    """Push the round's seats to the source's platform as participants (idempotent there);
    returns the round and what was done, which is audited by count."""
    with session_scope(engine) as session:
        src = get_source(session, name)
        found = platform(src.kind)
        if found.push_panel is None:
            raise ConfigError(f"a {src.kind} source has no participants to push a panel to")
        round_id, settings = src.round_id, settings_of(src, config)
        seats = [SeatRef(s.seat_id, s.token, s.status, s.group) for s in round_seats(session, round_id)]  # fmt: skip
    if not any(s.status == "active" for s in seats):
        raise StoreError(f"round {round_id} has no active seats (draw or set its panel first)")
    result = found.push_panel(settings, round_id, seats, with_group)
    with session_scope(engine) as session:
        record_push(session, get_source(session, name), asdict(result))
    return round_id, result


def seat_links(
    session: Session, config: Config, name: str, round_id: str | None = None
) -> list[LinkRow]:
    """Each active seat's personal link in the source's platform form (``panel links --source``,
    ``source push-panel --links``), by group then evaluator; private: a link carries a seat."""
    src = get_source(session, name)
    if round_id is not None and src.round_id != round_id:
        raise StoreError(f"source {name!r} feeds round {src.round_id}, not {round_id}")
    found = platform(src.kind)
    if found.link is None:
        raise ConfigError(f"a {src.kind} source has no personal links")
    settings = settings_of(src, config)
    holders = seat_holders(session, src.round_id)
    rows = [
        LinkRow(*holders.get(s.seat_id, ("", "")), s.group, found.link(settings, s.token))
        for s in round_seats(session, src.round_id)
        if s.status == "active"
    ]
    return sorted(rows, key=lambda r: (r.group, r.member))
