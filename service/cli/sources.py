"""``pingyi source add|list|push-panel`` and ``pingyi poll``: survey platforms from the CLI.

``source add`` has no option of its own for any platform: each time it runs it builds
``--<option>`` from the ``source add`` schemas of every registered kind (connectors/registry.py),
and an option of another kind than ``--kind`` is refused naming it. A secret option takes the
*name* of the environment variable holding the secret (``--password-env LS_PASSWORD``); the value
is read from the environment this command was started with (``Config.environ``), never from a
command line, and never stored or printed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from connectors.base import ConnectorError, OptionSpec, OptionsRefused
from connectors.registry import platform, polled_kinds, source_kinds
from service.cli.base import State, common, echo_json
from service.store.engine import StoreError, session_scope

DEST = "platform_"  # the prefix of platform options' parameter names, apart from ours
_METAVARS = {"string": "TEXT", "integer": "INTEGER", "number": "NUMBER"}


@contextmanager
def platform_errors() -> Iterator[None]:
    """A platform's refusal becomes a one-line error (exit 1), never a traceback."""
    try:
        yield
    except OptionsRefused as exc:
        message = exc.describe(_flag)
        if exc.unknown:
            spelt = ", ".join(_flag(s.name) for s in platform(exc.kind).option_specs())
            message += f" (its options: {spelt or 'none'})"
        raise click.UsageError(message) from None
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _platform_options() -> list[click.Option]:
    """One click option per option name across the registered kinds, help saying whose."""
    by_name: dict[str, list[tuple[str, OptionSpec]]] = {}
    for kind in source_kinds():
        for spec in platform(kind).option_specs():
            by_name.setdefault(spec.name, []).append((kind, spec))
    options = []
    for name, specs in by_name.items():
        helps = []
        for kind, spec in specs:
            extra = " Required." if spec.required else ""
            if spec.default is not None and spec.type != "boolean":
                extra += f" Default: {spec.default}."
            helps.append(f"[{kind}] {spec.help}{extra}")
        spec = specs[0][1]
        if spec.type == "boolean":
            options.append(
                click.Option([_flag(name), DEST + name], is_flag=True, help=" ".join(helps))
            )
            continue
        if spec.file:
            kind_of = click.Path(path_type=Path, dir_okay=False, exists=True)
        else:
            kind_of = click.STRING
        metavar = "VAR" if spec.secret else "FILE" if spec.file else _METAVARS[spec.type]
        options.append(
            click.Option(
                [_flag(name), DEST + name], type=kind_of, metavar=metavar, help=" ".join(helps)
            )
        )
    return options


class SourceAddCommand(click.Command):
    """``source add``: ``--kind`` and the platforms' options come from the registry when the
    command runs, so a platform registered after import (a plug-in, a test) has them too."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        kind = click.Option(["--kind"], type=click.Choice(source_kinds()), required=True)
        help_option = self.get_help_option(ctx)
        return [kind, *self.params, *_platform_options(), *([help_option] if help_option else [])]


def given_options(ctx: click.Context, values: dict[str, Any]) -> dict[str, Any]:
    """The platform options typed on the command line (a file option: the file's text)."""
    given = {}
    for dest, value in values.items():
        if (
            not dest.startswith(DEST)
            or ctx.get_parameter_source(dest) != ParameterSource.COMMANDLINE
        ):
            continue
        given[dest[len(DEST) :]] = (
            value.read_text(encoding="utf-8-sig") if isinstance(value, Path) else value
        )
    return given


@click.group("source")
def source() -> None:
    """Survey platforms feeding a round: add, list, push the panel."""


@source.command("add", cls=SourceAddCommand)
@click.argument("name")
@click.option("--round", "round_id", required=True, help="The round its ballots belong to.")
@click.option(
    "--replace", is_flag=True, help="Rebuild an existing source's mapping; keep its cursor."
)
@click.option("--json", "as_json", is_flag=True)
@common
def source_add(
    state: State, name: str, kind: str, round_id: str, replace: bool, as_json: bool, **values: Any
) -> None:
    """Check the options, read the survey's structure (where the platform has one), build the
    mapping, and store the source. Each option says which kinds take it."""
    from jobs.sources import add

    options = given_options(click.get_current_context(), values)
    with platform_errors():
        added = add(state.engine, state.config, name, kind, round_id, options, replace)
    if as_json:
        echo_json(added.summary)
        return
    click.echo(f"source {name} {'updated' if replace else 'added'}: {kind} for round {round_id}")
    for line in added.lines:
        click.echo(f"  {line}")


@source.command("list")
@click.option("--json", "as_json", is_flag=True)
@common
def source_list(state: State, as_json: bool) -> None:
    """Sources with their platform, last poll and last error; secrets only as variable names."""
    from jobs.sources import describe

    with session_scope(state.engine) as session:
        rows = describe(session, state.config)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no sources (add one with: pingyi source add NAME --kind KIND …)")
    for r in rows:
        click.echo(f"{r['name']}\t{r['kind']}\tround {r['round']}\t{r['described'] or ''}".rstrip())
        if r["secrets"]:
            click.echo(
                "  "
                + ", ".join(
                    f"{secret} in ${var} {'set' if r['secrets_set'][var] else 'NOT SET'}"
                    for secret, var in r["secrets"].items()
                )
            )
        if r["hook"]:
            click.echo(f"  POST {r['hook']}")
        if r["polled"]:
            progress = f"; {r['progress']}" if r["progress"] else ""
            click.echo(f"  last poll {r['last_poll_at'] or 'never'}{progress}")
        if r["last_error"]:
            click.echo(f"  last error: {r['last_error']}")


@source.command("remove")
@click.argument("name")
@common
def source_remove(state: State, name: str) -> None:
    """Stop source NAME (no more webhooks or polls); its ballots and deliveries are kept."""
    from service.store.sources import remove_source

    with session_scope(state.engine) as session:
        removed = remove_source(session, name)
    click.echo(
        f"source {name} removed; its {removed['ballots']} ballot(s) are kept and still count "
        f"(the name {name} is not reused)"
    )


@source.command("push-panel")
@click.argument("name")
@click.option("--with-group", is_flag=True, help="Also send each seat's group (as first name).")
@click.option(
    "--links",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a CSV of each active seat's survey link (private: links carry access codes).",
)
@click.option("--json", "as_json", is_flag=True)
@common
def source_push_panel(
    state: State, name: str, with_group: bool, links: Path | None, as_json: bool
) -> None:
    """Add the round's active seats as participants (seat tokens as access codes), idempotently;
    participants of replaced or void seats are invalidated."""
    from jobs.sources import push_panel, seat_links

    with platform_errors():
        round_id, result = push_panel(state.engine, state.config, name, with_group)
        if links:
            with session_scope(state.engine) as session:
                write_links(links, seat_links(session, state.config, name))
    counts = {
        "added": result.added,
        "present": result.present,
        "invalidated": result.invalidated,
        "already_invalid": result.already_invalid,
        "foreign": result.foreign,
    }
    if as_json:
        echo_json({"source": name, "round": round_id, **counts})
        return
    click.echo(
        f"source {name} (round {round_id}): {result.added} participants added, "
        f"{result.present} already there, {result.invalidated} invalidated "
        f"(seats replaced or void; {result.already_invalid} already were)"
    )
    if result.foreign:
        click.echo(f"  {result.foreign} participants not from this round's seats left as they are")
    if links:
        click.echo(f"  wrote {links} (keep it private: each link carries a seat's access code)")


def write_links(path: Path, rows: list) -> None:
    """evaluator, name, group, link for each active seat: what the office sends out."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["evaluator", "name", "group", "link"])
    writer.writerows([r.member, r.name, r.group, r.link] for r in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8-sig")  # Excel reads a BOM'd CSV as UTF-8


@click.command("poll")
@click.argument("name", required=False)
@click.option("--full", is_flag=True, help="Read every response again (safe: nothing is doubled).")
@click.option("--json", "as_json", is_flag=True)
@common
def poll(state: State, name: str | None, full: bool, as_json: bool) -> None:
    """Poll one source, or all: new ballots in, cursor moved; exit 1 if any source failed."""
    from jobs.poll import PollFailed, poll_source
    from service.store.sources import get_source, list_sources

    with session_scope(state.engine) as session:
        sources = [get_source(session, name)] if name else list_sources(session)
        if name and sources[0].kind not in polled_kinds():
            raise StoreError(
                f"source {name!r} is a {sources[0].kind} source: it is pushed, not polled"
            )
        todo = [s.name for s in sources if s.kind in polled_kinds()]
    try:
        results = [
            poll_source(state.engine, n, state.config.rules, state.config.environ, full)
            for n in todo
        ]
    except PollFailed as exc:  # the database failed: its description, never the driver's text
        raise click.ClickException(str(exc)) from None
    if as_json:
        echo_json([r.as_dict() for r in results])
    elif not results:
        click.echo("no sources to poll (add one with: pingyi source add NAME --kind KIND …)")
    for r in results:
        if as_json:
            break
        if r.error:
            click.echo(f"{r.source} (round {r.round_id}): FAILED: {r.error}")
            continue
        d = r.as_dict()
        click.echo(
            f"{r.source} (round {r.round_id}): {d['new']} new, {d['updated']} updated, "
            f"{d['rejected']} rejected, {d['unchanged']} unchanged"
        )
    if any(r.error for r in results):
        raise click.exceptions.Exit(1)
