"""``pingyi round``, ``pingyi ingest`` and ``pingyi veto``: a round and what goes into it."""

from __future__ import annotations

from pathlib import Path

import click

from service.cli.base import State, common, echo_json, parse_time
from service.store.engine import session_scope


@click.group("round")
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
    from service.store.rounds import create_round

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


@click.command()
@click.argument("round_id")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", default="canonical", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@common
def ingest(state: State, round_id: str, file: Path, fmt: str, as_json: bool) -> None:
    """Ingest a ballot file; the same file twice changes nothing."""
    from jobs.ingest import ingest_file
    from service.store.ballots import rejected_ballots

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


@click.group()
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
    from service.store.rounds import add_veto

    with session_scope(state.engine) as session:
        add_veto(session, round_id, unit, reason, by)
    click.echo(f"round {round_id}: {unit} vetoed ({reason})")
