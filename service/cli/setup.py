"""``pingyi init`` and ``pingyi import units|pool``: the schema and the reference data."""

from __future__ import annotations

from pathlib import Path

import click

from service.cli.base import State, common
from service.config import CONFIG_FILE
from service.store.engine import migrate, session_scope

EXAMPLE_CONFIG = Path(__file__).with_name("example_config.toml")


@click.command()
@click.option(
    "--example-config",
    "example",
    is_flag=True,
    help="Write a commented pingyi.toml (or the --config path) for the office to fill in: "
    "issuing body, 文号 per round kind, recipients, cc, time zone. Touches no database.",
)
@common
def init(state: State, example: bool) -> None:
    """Create or upgrade the database schema (or, with --example-config, write a pingyi.toml)."""
    if example:
        _write_example(state.config_path or Path(CONFIG_FILE))
        return
    migrate(state.engine, state.config.circular.timezone)
    click.echo(f"database ready: {state.engine.url.render_as_string(hide_password=True)}")


def _write_example(path: Path) -> None:
    """The example settings, never over a file the office may have filled in already."""
    if path.exists():
        raise click.ClickException(f"{path} exists; not overwritten (move it away first)")
    path.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    click.echo(f"wrote {path}: fill in [circular] (body, doc_number, recipients, cc, timezone)")


@click.group("import")
def import_() -> None:
    """Import units or pool members from CSV (UTF-8, UTF-8 BOM, GB18030) or XLSX."""


def _import(state: State, file: Path, what: str, **options: object) -> None:
    """Parse the whole file first (refused whole on any error), then upsert in one transaction."""
    from jobs.imports import parse_pool, parse_units
    from service.store.reference import upsert_pool, upsert_units

    parse, upsert, noun = {
        "units": (parse_units, upsert_units, "units"),
        "pool": (parse_pool, upsert_pool, "pool members"),
    }[what]
    rows = parse(file)
    with session_scope(state.engine) as session:
        new, updated = upsert(session, rows, file.name, **options)
    click.echo(f"{file.name}: {len(rows)} {noun} ({new} new, {updated} updated)")


@import_.command("units")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--new-system",
    "new_systems",
    multiple=True,
    metavar="NAME",
    help="Declare a system the file introduces (the first import declares its systems itself).",
)
@common
def import_units(state: State, file: Path, new_systems: tuple[str, ...]) -> None:
    """Units: code,name,system[,kind][,active]. Importing again updates rows by code; active
    0/否/停用 retires a unit from rounds created later."""
    _import(state, file, "units", new_systems=new_systems)


@import_.command("pool")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@common
def import_pool(state: State, file: Path) -> None:
    """Pool: id,name,group[,township][,conflicts][,active]. Importing again updates rows by id."""
    _import(state, file, "pool")
