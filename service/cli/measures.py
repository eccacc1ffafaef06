"""``pingyi measure``: rectification measures (整改措施) per unit, open until done."""

from __future__ import annotations

from datetime import date

import click

from service.cli.base import State, common, echo_json
from service.store.engine import session_scope


@click.group()
def measure() -> None:
    """Rectification measures (整改): recorded per unit, carried forward until done."""


@measure.command("add")
@click.argument("round_id")
@click.argument("unit")
@click.option("--cause", required=True, help="The cause found (问题原因).")
@click.option("--measure", "text", required=True, help="What the unit will do (整改措施).")
@click.option("--due", help="Deadline, YYYY-MM-DD.")
@click.option("--by", "by", default=None, help="Who recorded it.")
@common
def measure_add(
    state: State, round_id: str, unit: str, cause: str, text: str, due: str | None, by: str | None
) -> None:
    """Record a rectification measure for UNIT in ROUND_ID (audit-logged)."""
    from service.store.measures import add_measure

    try:
        deadline = date.fromisoformat(due) if due else None
    except ValueError:
        raise click.ClickException(f"--due {due!r}: expected a date, YYYY-MM-DD") from None
    with session_scope(state.engine) as session:
        row = add_measure(session, round_id, unit, cause, text, deadline, by)
        number = row.id
    click.echo(f"round {round_id}: measure {number} for {unit} recorded (open)")


@measure.command("done")
@click.argument("round_id")
@click.argument("unit")
@click.option("--note", default=None, help="How it was done (kept with it).")
@click.option("--by", "by", default=None, help="Who confirmed it.")
@common
def measure_done(state: State, round_id: str, unit: str, note: str | None, by: str | None) -> None:
    """Mark UNIT's open measures in ROUND_ID (or carried into it) done (audit-logged)."""
    from service.store.measures import complete_measures

    with session_scope(state.engine) as session:
        done = [r.id for r in complete_measures(session, round_id, unit, note, by)]
    click.echo(f"round {round_id}: {unit}'s measure(s) {', '.join(map(str, done))} done")


@measure.command("list")
@click.argument("round_id")
@click.option("--json", "as_json", is_flag=True)
@common
def measure_list(state: State, round_id: str, as_json: bool) -> None:
    """The round's measures, and the open ones carried into it from earlier rounds."""
    from service.store.measures import measure_json, round_measures

    with session_scope(state.engine) as session:
        rows = [measure_json(r, round_id) for r in round_measures(session, round_id)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"round {round_id}: no measures")
    for r in rows:
        carried = f" (from {r['round']})" if r["carried"] else ""
        due = f", due {r['due']}" if r["due"] else ""
        click.echo(f"{r['unit']}\t#{r['id']} {r['status']}{due}{carried}: {r['measure']}")
