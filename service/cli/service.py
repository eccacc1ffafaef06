"""``pingyi subscription``, ``pingyi worker``, ``pingyi scheduler`` and ``pingyi sweep``: the
commands that run the service (staff tokens are in ``service/cli/tokens.py``; how the worker and
the scheduler ride out outages is in ``service/cli/processes.py``)."""

from __future__ import annotations

import logging

import click

from service.cli.base import State, common, echo_json
from service.queue import QUEUES
from service.store.engine import session_scope


@click.group()
def subscription() -> None:
    """Outgoing webhooks for automation (signed per Standard Webhooks)."""


@subscription.command("add")
@click.argument("url")
@click.option("--events", required=True, help="Comma-separated, e.g. ballot.accepted,round.closed")
@click.option("--secret-env", required=True, help="Variable holding the whsec_ secret.")
@common
def subscription_add(state: State, url: str, events: str, secret_env: str) -> None:
    """Subscribe URL to events; link-local and metadata addresses are refused."""
    from service.store.subscriptions import add_subscription

    names = [e.strip() for e in events.split(",") if e.strip()]
    with session_scope(state.engine) as session:
        sub = add_subscription(session, url, names, secret_env, state.config.outgoing)
        sub_id = sub.id
    click.echo(f"subscription {sub_id}: {url} ← {', '.join(names)} (secret from ${secret_env})")


@subscription.command("list")
@click.option("--json", "as_json", is_flag=True)
@common
def subscription_list(state: State, as_json: bool) -> None:
    """Subscriptions (the secret's variable name only)."""
    from service.store.subscriptions import list_subscriptions

    with session_scope(state.engine) as session:
        rows = [
            {
                "id": s.id,
                "url": s.url,
                "events": s.events,
                "secret_env": s.secret_env,
                "active": s.active,
            }
            for s in list_subscriptions(session)
        ]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['id']}\t{r['url']}\t{','.join(r['events'])}\t${r['secret_env']}")


@click.command()
@click.argument("queues", nargs=-1, required=True, type=click.Choice(QUEUES))
@click.option(
    "--maintenance-interval",
    type=int,
    default=60,
    show_default=True,
    help="Seconds between RQ's registry clean-ups (and scheduler lock checks).",
)
@common
def worker(state: State, queues: tuple[str, ...], maintenance_interval: int) -> None:
    """An RQ worker on QUEUES (JSON serializer, with RQ's scheduler for delayed retries) that
    rides out Redis outages: it backs off and starts again, and exits only on SIGTERM/SIGINT.
    It runs as the child of a small supervisor that starts it again if it is killed."""
    from service.cli.processes import run_worker
    from service.cli.supervise import is_child, own_command, supervise

    if not state.config.redis_url:
        raise click.ClickException("REDIS_URL is not set: a worker needs Redis")
    if not is_child():
        logging.getLogger().setLevel(logging.INFO)
        raise SystemExit(supervise(own_command(), f"worker {','.join(queues)}"))
    run_worker(state.config.redis_url, queues, maintenance_interval)


@click.command()
@click.option("--interval", type=float, default=5.0, show_default=True)
@click.option("--once", is_flag=True, help="One sweep, then exit.")
def scheduler(interval: float, once: bool) -> None:
    """The scheduler process: enqueue owed work (sweeper) and due polls. Run exactly one.
    It keeps going through Redis and database outages, logging each in one line."""
    from service.cli.processes import run_scheduler_riding

    logging.getLogger().setLevel(logging.INFO)
    run_scheduler_riding(interval, once)


@click.command()
@common
def sweep(state: State) -> None:
    """Enqueue once everything the database says is owed (after a Redis flush, say)."""
    from jobs.schedule import sweep as run_sweep
    from service.context import Context
    from service.queue import JobQueue

    context = Context(state.config, state.engine, JobQueue(state.config.redis_url, state.config))
    counts = run_sweep(context, grace=0)
    click.echo(", ".join(f"{k} {v}" for k, v in counts.items()))
