"""``pingyi token``: staff API tokens (docs/service.md, "Staff access and tokens")."""

from __future__ import annotations

import click

from service.cli.base import State, common
from service.store.engine import session_scope


@click.group()
def token() -> None:
    """Staff API tokens."""


@token.command("create")
@click.option("--role", type=click.Choice(["viewer", "admin"]), required=True)
@click.option("--name", default="", help="Who or what the token is for.")
@common
def token_create(state: State, role: str, name: str) -> None:
    """Print a new bearer token ONCE; only its hash is stored."""
    from service.store.tokens import create_token

    with session_scope(state.engine) as session:
        value = create_token(session, role, name)
    click.echo(value)
    click.echo(
        f"({role} token{' for ' + name if name else ''}; shown once, store it safely)", err=True
    )
