"""``pingyi panel set|show``: a designated panel (the leaders) and its tokens."""

from __future__ import annotations

from pathlib import Path

import click

from service.cli.base import State, common, echo_json
from service.cli.draw import links_cmd
from service.store.engine import session_scope


@click.group()
def panel() -> None:
    """Designated panels and their seats."""


@panel.command("set")
@click.argument("round_id")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@common
def panel_set(state: State, round_id: str, file: Path) -> None:
    """Seat the evaluators listed in FILE (one pool id per line) and print their tokens."""
    from service.store.rounds import set_panel

    ids = [line.strip() for line in file.read_text(encoding="utf-8-sig").splitlines()]
    ids = [i for i in ids if i and not i.startswith("#")]
    with session_scope(state.engine) as session:
        seated = set_panel(session, round_id, ids)
        rows = [(m.id, seat.group_name, seat.token) for seat, m in seated]
    click.echo(f"round {round_id}: {len(rows)} seats")
    for member_id, group, token in rows:
        click.echo(f"{member_id}\t{group}\t{token}")


@panel.command("show")
@click.argument("round_id")
@click.option("--json", "as_json", is_flag=True, help="Print the panel JSON (docs/draw.md).")
@common
def panel_show(state: State, round_id: str, as_json: bool) -> None:
    """Seats and tokens of a round (admin only in the service)."""
    from service.store.draws import panel_json

    with session_scope(state.engine) as session:
        data = panel_json(session, round_id)
    if as_json:
        echo_json(data)
        return
    click.echo(f"round {round_id}: {len(data['seats'])} seats ({data['method'] or 'no panel'})")
    for seat in data["seats"]:
        click.echo(f"{seat['evaluator']}\t{seat['group']}\t{seat['token']}")
    for seat in data["inactive_seats"]:
        click.echo(f"{seat['evaluator']}\t{seat['group']}\t({seat['status']})")


# ``pingyi panel links`` is defined beside the draw's commands (it writes the links of a drawn
# panel) and listed under ``panel``.
panel.add_command(links_cmd)
