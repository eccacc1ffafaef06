"""``pingyi inbox``: the webhook deliveries that have not become ballots yet, and a way back in
for the ones that failed.

A delivery that keeps failing to ingest (a parser crash, a database that kept refusing it) is
parked as ``failed`` with its error and kept; it is counted in ``/api/v1/status``, on the status
page and in ``/metrics``. Staff list it here and, once the cause is fixed, put it back: it is a
real seat's vote. Bodies are never printed: a body is a ballot, a token and its answers.
"""

from __future__ import annotations

import click

from service.cli.base import State, common, echo_json
from service.cli.tables import pad
from service.store.engine import session_scope


@click.group()
def inbox() -> None:
    """Webhook deliveries not yet ingested, and the ones that failed."""


@inbox.command("list")
@click.option("--failed", "status", flag_value="failed", help="Only deliveries parked as failed.")
@click.option("--pending", "status", flag_value="pending", help="Only deliveries still pending.")
@click.option("--source", help="Only this source's deliveries.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@common
def inbox_list(
    state: State, status: str | None, source: str | None, limit: int, as_json: bool
) -> None:
    """Deliveries, newest first: id, source, the platform's delivery id, round, received (UTC),
    status, attempts and error."""
    from service.store.inbox import list_deliveries

    with session_scope(state.engine) as session:
        rows = list_deliveries(session, status, source, limit)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no deliveries" + (f" {status}" if status else ""))
        return
    width = max(len(r["source"]) for r in rows)
    delivery_width = max(len(r["delivery_id"]) for r in rows)
    for r in rows:
        click.echo(
            f"{r['id']:>7}  {pad(r['source'], width)}  {pad(r['delivery_id'], delivery_width)}  "
            f"{r['round'] or '—'}  {r['received_at'][:19]}  {r['status']:<7}  "
            f"{r['attempts']} tries  {r['error'] or ''}".rstrip()
        )


@inbox.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-failed", is_flag=True, help="Every failed delivery (of --source if given).")
@click.option("--source", help="With --all-failed: only this source's deliveries.")
@common
def inbox_retry(state: State, ids: tuple[int, ...], all_failed: bool, source: str | None) -> None:
    """Put failed deliveries back in the inbox and ingest them (at once without REDIS_URL,
    else on the inbox queue; the sweep would find them too)."""
    from service.queue import INBOX, JobQueue
    from service.store.inbox import get_delivery, retry_failed

    if bool(ids) == all_failed:
        raise click.UsageError("name delivery ids, or give --all-failed")
    with session_scope(state.engine) as session:
        moved = retry_failed(session, list(ids) if ids else None, source)
    if not moved:
        click.echo("no failed deliveries")
        return
    queue = JobQueue(state.config.redis_url, state.config)
    for name in sorted({s for _, s in moved}):
        queue.enqueue(INBOX, "jobs.inbox.ingest_inbox", name, coalesce=f"ingest:{name}")
    click.echo(f"{len(moved)} deliveries back in the inbox")
    if queue.inline:  # the ingest has run: say which did not make it
        with session_scope(state.engine) as session:
            for delivery_id, _ in moved:
                row = get_delivery(session, delivery_id)
                if row is not None and row.status != "done":
                    click.echo(f"delivery {delivery_id}: {row.status} again: {row.error}")
