"""``pingyi rank`` and ``pingyi circular``: a round's results."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import click

from service.cli.base import State, common, echo_json
from service.store.engine import session_scope


@click.command()
@click.argument("round_id")
@click.option("--json", "as_json", is_flag=True, help="Print the ranking JSON (docs/rules.md).")
@click.option("--force", is_flag=True, help="Rank even a round with no ballots at all.")
@click.option(
    "--without-reliability",
    "official_only",
    is_flag=True,
    help="Only the official ranking: skip the bootstrap report (docs/reliability.md), e.g. to "
    "time the ranking of a very large round on its own.",
)
@common
def rank(state: State, round_id: str, as_json: bool, force: bool, official_only: bool) -> None:
    """Compute the ranking of a round and store it as a snapshot; a monthly round's JSON also
    carries how sure each rank is (docs/reliability.md)."""
    from jobs.ranking import rank_round
    from jobs.reliability.report import reliability_of
    from service.store.reliability import with_uncertainty
    from service.store.round_units import round_systems

    with session_scope(state.engine) as session:
        _, snapshot = rank_round(session, round_id, state.config.rules, force=force)
        report = None if official_only else reliability_of(session, snapshot, state.config.rules)
        result = with_uncertainty(snapshot.result, None if report is None else report.report)
        systems = round_systems(session, round_id)
    if as_json:
        echo_json(result)
        return
    from service.cli.tables import format_ranking

    click.echo(format_ranking(result, systems))


@click.command()
@click.argument("round_id")
@click.option("--json", "as_json", is_flag=True, help="Print the flags as JSON.")
@common
def quality(state: State, round_id: str, as_json: bool) -> None:
    """Ballot-quality flags of a round's latest ranking (straight-lining, leniency, severity,
    near-identical pairs), by seat. They describe evaluators' behaviour: for staff who run the
    round only (admin in the service), never published. Flags never void a ballot."""
    from jobs.reliability.report import reliability_of
    from service.store.results import latest_snapshot
    from service.store.rounds import get_round

    with session_scope(state.engine) as session:
        get_round(session, round_id)
        snapshot = latest_snapshot(session, round_id)
        if snapshot is None:
            raise click.ClickException(f"round {round_id!r} has not been ranked (pingyi rank)")
        report = reliability_of(session, snapshot, state.config.rules)
        if report is None:
            raise click.ClickException(
                f"round {round_id!r}: ballot quality is checked for monthly rounds"
            )
        flags, counts = report.flags, report.report["quality_counts"]
    if as_json:
        echo_json({"round": round_id, "counts": counts, "flags": flags})
        return
    click.echo(
        f"round {round_id}: {counts['ballots']} accepted ballots checked; "
        f"{len(flags)} flag{'s' if len(flags) != 1 else ''} (flags never void a ballot)"
    )
    for flag in flags:
        other = f" with seat {flag['with']}" if flag["with"] is not None else ""
        click.echo(
            f"  seat {flag['seat']} ({flag.get('evaluator') or '?'}): {flag['kind']}{other}: {flag['detail']}"
        )


@click.command()
@click.argument("round_id")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--xlsx", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--reissue",
    "reason",
    metavar="REASON",
    help="Issue a new version of a published circular; the reason is printed in it and logged.",
)
@click.option("--force", is_flag=True, help="Publish even a round with no ballots at all.")
@click.option(
    "--date",
    "issued",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The issue date printed (成文日期), e.g. 2026-11-03; default: [circular] date, or today.",
)
@click.option(
    "--stored", is_flag=True, help="Write the latest published version's files; publish nothing."
)
@common
def circular(
    state: State,
    round_id: str,
    output: Path | None,
    xlsx: Path | None,
    json_path: Path | None,
    reason: str | None,
    force: bool,
    issued: datetime | None,
    stored: bool,
) -> None:
    """Rank the round and publish its circular (PDF; XLSX and JSON on request).

    A published circular is never replaced silently: once version 1 exists, a new version needs
    --reissue REASON. --stored writes the files of the version readers have now.
    """
    from jobs.circulars.publish import publish_round

    output = output or Path(f"circular-{round_id}.pdf")
    config = state.config
    if issued is not None:
        text = f"{issued.year}年{issued.month}月{issued.day}日"
        config = replace(config, circular=replace(config.circular, date=text))
    if stored:
        _write_stored(state, round_id, {"pdf": output, "xlsx": xlsx, "json": json_path})
        return
    with session_scope(state.engine) as session:
        published = publish_round(
            session, round_id, config, xlsx=xlsx is not None, reason=reason, force=force
        )
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


def _write_stored(state: State, round_id: str, paths: dict[str, Path | None]) -> None:
    """Write the latest stored version of each asked-for format, exactly as published."""
    from service.store.results import latest_circular
    from service.store.rounds import get_round

    with session_scope(state.engine) as session:
        get_round(session, round_id)
        rows = {fmt: latest_circular(session, round_id, fmt) for fmt, p in paths.items() if p}
        if rows.get("pdf") is None:
            raise click.ClickException(f"round {round_id!r} has no published circular")
        for fmt, row in rows.items():
            if row is None:
                raise click.ClickException(f"round {round_id!r}: no {fmt} file was published")
            path = paths[fmt]
            assert path is not None
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(row.content)
            click.echo(f"wrote {path} ({row.size:,} bytes)")
        pdf = rows["pdf"]
        note = f", re-issued: {pdf.reason}" if pdf.reason else ""
        click.echo(f"circular version {pdf.version}, sha256 {pdf.sha256}{note}")
