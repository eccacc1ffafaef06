"""The ``pingyi`` command: the whole monthly job without any server (SQLite, jobs in-process).

The CLI is the in-process runner: where the service would enqueue a job by name, the CLI calls
the job function directly, in one transaction per command. Each command group lives in a module
of its own; this module only assembles them.
"""

from __future__ import annotations

import logging
import sys

import click

from service.cli.base import State, database_options
from service.cli.demo import demo
from service.cli.draw import draw, links_cmd
from service.cli.inbox import inbox
from service.cli.measures import measure
from service.cli.panel import panel
from service.cli.results import circular, quality, rank
from service.cli.rounds import ingest, round_, veto
from service.cli.service import scheduler, subscription, sweep, worker
from service.cli.setup import import_, init
from service.cli.sources import poll, source
from service.cli.tokens import token
from service.cli.verify import verify_circular
from service.malloc import one_arena


@click.group()
@database_options
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """pingyi (评议): democratic evaluation — panel, ballots, rankings, circulars."""
    one_arena()  # before any thread starts: the report's threads (service/malloc.py)
    ctx.ensure_object(State)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


panel.add_command(links_cmd)
for command in (init, import_, round_, panel, draw, source, poll, ingest, veto, rank, quality, circular,
                token, subscription, worker, scheduler, sweep, inbox, measure, demo):  # fmt: skip
    main.add_command(command)
main.add_command(verify_circular)
