"""``pingyi round``, ``pingyi ingest`` and ``pingyi veto``: a round and what goes into it."""

from __future__ import annotations

from datetime import datetime
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


@round_.command("list")
@click.option("--status", type=click.Choice(["open", "closed"]), help="Only rounds in this state.")
@click.option("--json", "as_json", is_flag=True)
@common
def round_list(state: State, status: str | None, as_json: bool) -> None:
    """Every round, newest first: window, units, seats, ballots and circular version."""
    from service.store.engine import as_utc
    from service.store.results import latest_circular_versions
    from service.store.round_units import ballots_received, round_unit_codes
    from service.store.rounds import count_active_seats, list_rounds

    with session_scope(state.engine) as session:
        versions = latest_circular_versions(session)
        rows = [
            {
                "id": rnd.id,
                "kind": rnd.kind,
                "status": rnd.status,
                "opens_at": rnd.opens_at and as_utc(rnd.opens_at).isoformat(),
                "closes_at": rnd.closes_at and as_utc(rnd.closes_at).isoformat(),
                "units": len(round_unit_codes(session, rnd.id)),
                "seats": count_active_seats(session, rnd.id),
                "ballots": ballots_received(session, rnd.id),
                "circular_version": versions.get(rnd.id),
            }
            for rnd in list_rounds(session, status)
        ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no rounds" + (f" {status}" if status else ""))
        return
    click.echo(
        f"{'round':<14} {'kind':<10} {'status':<7} {'window (UTC)':<33} units seats ballots circular"
    )
    for r in rows:
        window = f"{(r['opens_at'] or '—')[:16]} … {(r['closes_at'] or '—')[:16]}"
        version = f"v{r['circular_version']}" if r["circular_version"] else "—"
        click.echo(
            f"{r['id']:<14} {r['kind']:<10} {r['status']:<7} {window:<33} {r['units']:>5} "
            f"{r['seats']:>5} {r['ballots']:>7} {version}"
        )


@round_.command("units")
@click.argument("round_id")
@click.option(
    "--refresh",
    is_flag=True,
    help="Take today's active units again (only before any ballot or source).",
)
@click.option("--json", "as_json", is_flag=True)
@common
def round_units_cmd(state: State, round_id: str, refresh: bool, as_json: bool) -> None:
    """The units ROUND_ID evaluates: fixed when it was created, whatever is imported later."""
    from service.store.round_units import refresh_units, round_units
    from service.store.rounds import get_round

    with session_scope(state.engine) as session:
        get_round(session, round_id)
        if refresh:
            before, after = refresh_units(session, round_id)
            click.echo(f"round {round_id}: {before} units before, {after} now")
        units = round_units(session, round_id)
    if as_json:
        echo_json([{"code": c, "name": n, "system": s} for c, n, s in units])
        return
    if not refresh:
        for code, name, system in units:
            click.echo(f"{code}\t{system}\t{name}")
        click.echo(f"{len(units)} units")


@round_.command("close")
@click.argument("round_id")
@common
def round_close(state: State, round_id: str) -> None:
    """Close ROUND_ID now: ballots received from now on no longer count."""
    from service.store.audit import append_audit
    from service.store.rounds import get_round
    from service.store.work import close_round

    with session_scope(state.engine) as session:
        rnd = get_round(session, round_id)
        if rnd.status == "closed":
            raise click.ClickException(f"round {round_id!r} is already closed")
        close_round(session, round_id)
        append_audit(session, "round.close", {}, round_id)
    click.echo(f"round {round_id} closed; publish its circular with: pingyi circular {round_id}")


@click.command()
@click.argument("round_id")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", default="canonical", show_default=True)
@click.option(
    "--source",
    "source_name",
    metavar="NAME",
    help="The platform source the export comes from: its mapping is applied and its ballots "
    "already received by push or poll are recognised, not counted twice.",
)
@click.option("--json", "as_json", is_flag=True)
@common
def ingest(
    state: State, round_id: str, file: Path, fmt: str, source_name: str | None, as_json: bool
) -> None:
    """Ingest a ballot file; the same file twice changes nothing."""
    from jobs.ingest import ingest_file
    from service.store.ballot_counts import rejected_ballots

    with session_scope(state.engine) as session:
        source = None
        if source_name is not None:
            from jobs.sources import export_source  # the sources' machinery only when named

            source = export_source(session, source_name, round_id, fmt, state.config)
        counts, statuses = ingest_file(session, round_id, file, fmt, state.config.rules, source)
        # This file's rejections only, not the round's so far.
        rejected = rejected_ballots(session, round_id, counts.ballot_ids, limit=21)
    summary = {
        "records": counts.new + counts.updated + counts.unchanged,
        "new": counts.new,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        **{s: statuses.get(s, 0) for s in ("accepted", "superseded", "rejected", "invalid")},
    }
    nothing_counts = summary["records"] > 0 and summary["rejected"] == summary["records"]
    if as_json:
        echo_json(summary)
        if nothing_counts:
            raise SystemExit(1)
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
    if summary["rejected"] > 20:
        click.echo(f"  … and {summary['rejected'] - 20} more rejected ballots")
    if nothing_counts:
        # Kept, with their reasons, but a file none of whose records counts is an error to act on.
        raise click.ClickException(f"every record of {file.name} was rejected: none counts")


@click.group()
def veto() -> None:
    """One-vote veto (一票否决)."""


@veto.command("add")
@click.argument("round_id")
@click.argument("unit")
@click.option("--reason", required=True, help="Published in the circular.")
@click.option("--by", "by", default=None, help="Who decided.")
@click.option(
    "--date",
    "decided",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The decision's date, printed in the circular (default: today in [circular] timezone).",
)
@common
def veto_add(
    state: State, round_id: str, unit: str, reason: str, by: str | None, decided: datetime | None
) -> None:
    """Veto UNIT in ROUND_ID: ranked last, never in the top list, reason and date published."""
    from service.store.rounds import add_veto

    with session_scope(state.engine) as session:
        veto = add_veto(
            session,
            round_id,
            unit,
            reason,
            by,
            decided.date() if decided else None,
            state.config.circular.timezone,
        )
        on = veto.decided_on.isoformat()
    click.echo(f"round {round_id}: {unit} vetoed on {on} ({reason})")


@veto.command("remove")
@click.argument("round_id")
@click.argument("unit")
@click.option("--reason", required=True, help="Why the veto is withdrawn (kept in the audit log).")
@click.option("--by", "by", default=None, help="Who decided.")
@common
def veto_remove(state: State, round_id: str, unit: str, reason: str, by: str | None) -> None:
    """Withdraw UNIT's veto in ROUND_ID; rank again (and re-issue a published circular)."""
    from service.store.rounds import remove_veto

    with session_scope(state.engine) as session:
        remove_veto(session, round_id, unit, reason, by)
    click.echo(f"round {round_id}: veto of {unit} withdrawn ({reason})")
