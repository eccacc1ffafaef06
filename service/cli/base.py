"""What every command shares: the --db/--config options, the state they build, JSON output."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import datetime, time
from functools import wraps
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from service.config import Config, load_config
from service.rules import RulesError
from service.store.engine import StoreError, make_engine

logger = logging.getLogger(__name__)


EXPECTED = (StoreError, RulesError, ValueError, OSError)


class State:
    """Options shared by every command; the engine is made on first use."""

    def __init__(self) -> None:
        self.db: str | None = None
        self.config_path: Path | None = None
        self._config: Config | None = None
        self._engine = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(os.environ, self.config_path, self.db)
        return self._config

    @property
    def engine(self):
        if self._engine is None:
            self._engine = make_engine(self.config.database_url)
        return self._engine

    def close(self) -> None:
        """Close the command's database connections as it ends (SQLite then folds its
        write-ahead log into the database file), rather than whenever the engine is collected."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _set_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(State).db = value


def _set_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value:
        ctx.ensure_object(State).config_path = value


def database_options(func: Callable) -> Callable:
    """``--db`` and ``--config``, accepted before the subcommand and after it alike."""
    func = click.option(
        "--config",
        type=click.Path(path_type=Path, dir_okay=False),
        expose_value=False,
        callback=_set_config,
        help="pingyi.toml with [rules], [circular] and [draw].",
    )(func)
    return click.option("--db", "db", expose_value=False, callback=_set_db, help="Database URL.")(
        func
    )


def common(func: Callable) -> Callable:
    """Give a command ``--db`` and ``--config`` (every command takes --db; docs/service.md) and turn
    expected errors into a one-line message and exit status 1, never a traceback."""

    @database_options
    @click.pass_context
    @wraps(func)
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        try:
            return ctx.invoke(func, ctx.ensure_object(State), *args, **kwargs)
        except EXPECTED as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def parse_time(value: str | None, tz: str, end_of_day: bool = False) -> datetime | None:
    """ISO 8601 time; a bare date means the start (or, for --closes, the end) of that day, and a
    time without zone is local time in the configured zone (Asia/Shanghai by default)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or time") from None
    if len(value.strip()) == 10 and end_of_day:
        parsed = datetime.combine(parsed.date(), time.max)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed
