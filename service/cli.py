"""The ``pingyi`` command: the whole monthly job without any server (SQLite, jobs in-process).

The CLI is the in-process runner: where the service would enqueue a job by name, the CLI calls
the job function directly, in one transaction per command.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import datetime, time
from functools import wraps
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from service.config import Config, load_config
from service.rules import RulesError
from service.store import StoreError, make_engine, migrate, session_scope

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
    """Give a command ``--db`` and ``--config`` (SPEC §7: every command takes --db) and turn
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


@click.group()
@database_options
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """pingyi (评议): democratic evaluation — panel, ballots, rankings, circulars."""
    ctx.ensure_object(State)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@main.command()
@common
def init(state: State) -> None:
    """Create or upgrade the database schema."""
    migrate(state.engine)
    click.echo(f"database ready: {state.engine.url.render_as_string(hide_password=True)}")


@main.group("import")
def import_() -> None:
    """Import units or pool members from CSV (UTF-8, UTF-8 BOM, GB18030) or XLSX."""


def _import(state: State, file: Path, what: str) -> None:
    """Parse the whole file first (refused whole on any error), then upsert in one transaction."""
    from service.imports import parse_pool, parse_units
    from service.store import upsert_pool, upsert_units

    parse, upsert, noun = {
        "units": (parse_units, upsert_units, "units"),
        "pool": (parse_pool, upsert_pool, "pool members"),
    }[what]
    rows = parse(file)
    with session_scope(state.engine) as session:
        new, updated = upsert(session, rows, file.name)
    click.echo(f"{file.name}: {len(rows)} {noun} ({new} new, {updated} updated)")


@import_.command("units")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@common
def import_units(state: State, file: Path) -> None:
    """Units: code,name,system[,kind]. Importing again updates rows by code."""
    _import(state, file, "units")


@import_.command("pool")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@common
def import_pool(state: State, file: Path) -> None:
    """Pool: id,name,group[,township][,conflicts][,active]. Importing again updates rows by id."""
    _import(state, file, "pool")


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


@main.group("round")
def round_() -> None:
    """Create and inspect rounds."""


@round_.command("create")
@click.argument("round_id")
@click.option(
    "--kind", type=click.Choice(["monthly", "quarterly", "semiannual"]), default="monthly"
)
@click.option("--opens", help="Window start, ISO 8601 (a date means 00:00 local).")
@click.option("--closes", help="Window end, ISO 8601 (a date means the end of that day).")
@click.option("--of", "parts", default="", help="Constituent rounds, comma-separated.")
@common
def round_create(
    state: State, round_id: str, kind: str, opens: str | None, closes: str | None, parts: str
) -> None:
    """Create a round with its submission window."""
    from service.store import create_round

    tz = state.config.circular.timezone
    with session_scope(state.engine) as session:
        rnd = create_round(
            session,
            round_id,
            kind,
            parse_time(opens, tz),
            parse_time(closes, tz, end_of_day=True),
            [p.strip() for p in parts.split(",") if p.strip()],
        )
    window = f"{opens or '—'} … {closes or '—'}"
    click.echo(f"round {rnd.id} ({rnd.kind}) created, window {window}")


@main.group()
def panel() -> None:
    """Designated panels and their seats."""


@panel.command("set")
@click.argument("round_id")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@common
def panel_set(state: State, round_id: str, file: Path) -> None:
    """Seat the evaluators listed in FILE (one pool id per line) and print their tokens."""
    from service.store import set_panel

    ids = [line.strip() for line in file.read_text(encoding="utf-8-sig").splitlines()]
    ids = [i for i in ids if i and not i.startswith("#")]
    with session_scope(state.engine) as session:
        seated = set_panel(session, round_id, ids)
        rows = [(m.id, seat.group_name, seat.token) for seat, m in seated]
    click.echo(f"round {round_id}: {len(rows)} seats")
    for member_id, group, token in rows:
        click.echo(f"{member_id}\t{group}\t{token}")


@panel.command("show")
@click.argument("round_id")
@click.option("--json", "as_json", is_flag=True, help="Print the SPEC §7 JSON.")
@common
def panel_show(state: State, round_id: str, as_json: bool) -> None:
    """Seats and tokens of a round (admin only in the service)."""
    from service.draws import panel_json

    with session_scope(state.engine) as session:
        data = panel_json(session, round_id)
    if as_json:
        echo_json(data)
        return
    click.echo(f"round {round_id}: {len(data['seats'])} seats ({data['method'] or 'no panel'})")
    for seat in data["seats"]:
        click.echo(f"{seat['evaluator']}\t{seat['group']}\t{seat['token']}")
    for seat in data["inactive_seats"]:
        click.echo(f"{seat['evaluator']}\t{seat['group']}\t({seat['status']})")


@main.command()
@click.argument("round_id")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", default="canonical", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@common
def ingest(state: State, round_id: str, file: Path, fmt: str, as_json: bool) -> None:
    """Ingest a ballot file; the same file twice changes nothing."""
    from jobs.ingest import ingest_file
    from service.ballot_store import rejected_ballots

    with session_scope(state.engine) as session:
        counts, statuses = ingest_file(session, round_id, file, fmt, state.config.rules)
        rejected = [r for r in rejected_ballots(session, round_id) if r[0] == f"file:{round_id}"]
    summary = {
        "records": counts.new + counts.updated + counts.unchanged,
        "new": counts.new,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        **{s: statuses.get(s, 0) for s in ("accepted", "superseded", "rejected", "invalid")},
    }
    if as_json:
        echo_json(summary)
        return
    click.echo(
        f"{file.name}: {summary['records']} records ({counts.new} new, {counts.updated} updated, "
        f"{counts.unchanged} unchanged)"
    )
    click.echo(
        "accepted {accepted}, superseded {superseded}, rejected {rejected}, invalid {invalid}".format(
            **summary
        )
    )
    for _source, response_id, reason in rejected[:20]:
        click.echo(f"  rejected {response_id}: {reason}")
    if len(rejected) > 20:
        click.echo(f"  … and {len(rejected) - 20} more rejected ballots")


@main.group()
def veto() -> None:
    """One-vote veto (一票否决)."""


@veto.command("add")
@click.argument("round_id")
@click.argument("unit")
@click.option("--reason", required=True, help="Published in the circular.")
@click.option("--by", "by", default=None, help="Who decided.")
@common
def veto_add(state: State, round_id: str, unit: str, reason: str, by: str | None) -> None:
    """Veto UNIT in ROUND_ID: ranked last, never in the top list, reason published."""
    from service.store import add_veto

    with session_scope(state.engine) as session:
        add_veto(session, round_id, unit, reason, by)
    click.echo(f"round {round_id}: {unit} vetoed ({reason})")


@main.command()
@click.argument("round_id")
@click.option("--json", "as_json", is_flag=True, help="Print the SPEC §7 JSON.")
@common
def rank(state: State, round_id: str, as_json: bool) -> None:
    """Compute the ranking of a round and store it as a snapshot."""
    from jobs.ranking import rank_round
    from service.store import system_names

    with session_scope(state.engine) as session:
        _, snapshot = rank_round(session, round_id, state.config.rules)
        result = snapshot.result
        systems = system_names(session)
    if as_json:
        echo_json(result)
        return
    from service.report import format_ranking

    click.echo(format_ranking(result, systems))


@main.command()
@click.argument("round_id")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--xlsx", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False))
@common
def circular(
    state: State, round_id: str, output: Path | None, xlsx: Path | None, json_path: Path | None
) -> None:
    """Rank the round and render its circular (PDF; XLSX and JSON on request)."""
    from jobs.publishing import publish_round

    output = output or Path(f"circular-{round_id}.pdf")
    with session_scope(state.engine) as session:
        published = publish_round(session, round_id, state.config, xlsx=xlsx is not None)
    for path, content in (
        (output, published.pdf),
        (xlsx, published.xlsx),
        (json_path, published.json),
    ):
        if path is not None and content is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            click.echo(f"wrote {path} ({len(content):,} bytes)")
    click.echo(f"circular version {published.version}, sha256 {published.pdf_sha256}")


@main.command()
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, file_okay=False), default="demo-out"
)
@click.option("--seed", default=20261031, show_default=True, help="Seed of the simulation.")
@common
def demo(state: State, output: Path, seed: int) -> None:
    """A realistic month on a fictional county, end to end; prints the files it wrote."""
    from jobs.demo import run_demo

    paths = run_demo(output, seed=seed, database_url=state.db, echo=click.echo)
    click.echo("\nThe month's circular:")
    for path in paths:
        click.echo(f"  {path}")


def _register_subcommands() -> None:
    """Command groups that live in their own modules (kept small, one noun each)."""
    from service.cli_draw import register as register_draw
    from service.cli_service import register as register_service

    register_draw(main)
    register_service(main)
    from service.cli_sources import register as register_sources

    register_sources(main)


_register_subcommands()
