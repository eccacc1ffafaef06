"""The ``pingyi`` command: the whole monthly job without any server (SQLite, jobs in-process).

The CLI is the in-process runner: where the service would enqueue a job by name, the CLI calls
the job function directly, in one transaction per command. Each command group lives in a module
of its own; this module only assembles them.
"""

from __future__ import annotations

import gc
import logging
import sys
from importlib import import_module

import click

from service.cli.base import database_options
from service.malloc import one_arena
from service.store.engine import close_sqlite_engines

# Each command, by the module and name that define it, in the order ``pingyi --help`` lists
# them. A command's module is imported when the command runs (or help lists them all): ``pingyi
# ingest`` need not import the demo, the draw or six platforms' source options, which was a
# quarter of its start-up.
COMMANDS = {
    "init": "service.cli.setup:init",
    "import": "service.cli.setup:import_",
    "round": "service.cli.rounds:round_",
    "panel": "service.cli.panel:panel",
    "draw": "service.cli.draw:draw",
    "source": "service.cli.sources:source",
    "poll": "service.cli.sources:poll",
    "ingest": "service.cli.rounds:ingest",
    "veto": "service.cli.rounds:veto",
    "rank": "service.cli.results:rank",
    "quality": "service.cli.results:quality",
    "circular": "service.cli.results:circular",
    "token": "service.cli.tokens:token",
    "subscription": "service.cli.service:subscription",
    "worker": "service.cli.service:worker",
    "scheduler": "service.cli.service:scheduler",
    "sweep": "service.cli.service:sweep",
    "inbox": "service.cli.inbox:inbox",
    "measure": "service.cli.measures:measure",
    "demo": "service.cli.demo:demo",
    "verify-circular": "service.cli.verify:verify_circular",
}


class LazyGroup(click.Group):
    """A group whose commands are imported when first asked for (click's lazy-loading pattern:
    ``list_commands`` names them, ``get_command`` imports one)."""

    def __init__(self, *args, lazy: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy, *(name for name in super().list_commands(ctx) if name not in self.lazy)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, name = self.lazy[cmd_name].split(":")
            command = getattr(import_module(module), name)
            if command.name != cmd_name:
                raise RuntimeError(f"{self.lazy[cmd_name]} is command {command.name!r}")
            self.add_command(command)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=COMMANDS)
@database_options
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """pingyi (评议): democratic evaluation — panel, ballots, rankings, circulars."""
    from service.cli.base import State

    one_arena()  # before any thread starts: the report's threads (service/malloc.py)
    ctx.call_on_close(ctx.ensure_object(State).close)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def run() -> None:
    """The ``pingyi`` program (the console script): ``main``, then an exit that does not walk
    every object the libraries made.

    At exit the interpreter collects cycles among everything still alive, SQLAlchemy's and the
    other libraries' modules included: about 0.1 s of every command on this machine, once its
    work is done and committed. Those objects are frozen out of the collector first
    (``gc.freeze``); the exit is otherwise the usual one (atexit handlers, logging's flush, the
    modules' teardown), and the command's connections were closed as it ended (``State.close``;
    and any other SQLite engine's here, so that no write-ahead log is left beside a database
    file). Tests call ``main`` in-process and are not affected."""
    try:
        main()
    finally:
        close_sqlite_engines()
        gc.freeze()
