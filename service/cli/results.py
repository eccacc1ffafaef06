"""``pingyi rank`` and ``pingyi circular``: a round's results."""

from __future__ import annotations

from pathlib import Path

import click

from service.cli.base import State, common, echo_json
from service.store.engine import session_scope


@click.command()
@click.argument("round_id")
@click.option("--json", "as_json", is_flag=True, help="Print the ranking JSON (docs/rules.md).")
@common
def rank(state: State, round_id: str, as_json: bool) -> None:
    """Compute the ranking of a round and store it as a snapshot."""
    from jobs.ranking import rank_round
    from service.store.reference import system_names

    with session_scope(state.engine) as session:
        _, snapshot = rank_round(session, round_id, state.config.rules)
        result = snapshot.result
        systems = system_names(session)
    if as_json:
        echo_json(result)
        return
    from service.cli.tables import format_ranking

    click.echo(format_ranking(result, systems))


@click.command()
@click.argument("round_id")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--xlsx", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False))
@common
def circular(
    state: State, round_id: str, output: Path | None, xlsx: Path | None, json_path: Path | None
) -> None:
    """Rank the round and render its circular (PDF; XLSX and JSON on request)."""
    from jobs.circulars.publish import publish_round

    output = output or Path(f"circular-{round_id}.pdf")
    with session_scope(state.engine) as session:
        published = publish_round(session, round_id, state.config, xlsx=xlsx is not None)
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
