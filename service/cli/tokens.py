"""``pingyi token``: staff API tokens (docs/service.md, "Staff access and tokens").

``create`` prints a new token once; ``list`` shows what is known about each token but never its
value (which is stored nowhere) or its hash; ``revoke`` ends a token and its page sessions.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import click

from service.cli.base import State, common, echo_json, parse_time
from service.cli.tables import display_width, pad
from service.store.engine import session_scope, utcnow

_DURATION = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: str) -> timedelta:
    """``12h``, ``90d`` or ``8w``: a token's lifetime."""
    match = _DURATION.match(value)
    if not match or int(match.group(1)) == 0:
        raise click.BadParameter(f"{value!r} is not a duration like 12h, 90d or 8w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@click.group()
def token() -> None:
    """Staff API tokens."""


@token.command("create")
@click.option("--role", type=click.Choice(["viewer", "admin"]), required=True)
@click.option("--name", default="", help="Who or what the token is for.")
@click.option("--expires-in", help="Lifetime, e.g. 12h, 90d, 8w (default PINGYI_TOKEN_DAYS, 90d).")
@click.option("--expires", help="Expiry date or time (a bare date: the end of that day, local).")
@common
def token_create(
    state: State, role: str, name: str, expires_in: str | None, expires: str | None
) -> None:
    """Print a new bearer token ONCE; only its hash is stored. Every token expires."""
    from service.store.tokens import create_token

    if expires_in and expires:
        raise click.UsageError("give --expires-in or --expires, not both")
    expires_at = parse_time(expires, state.config.circular.timezone, end_of_day=True)
    if expires_at is None:
        lifetime = parse_duration(expires_in) if expires_in else None
        expires_at = utcnow() + (lifetime or timedelta(days=state.config.auth.token_days))
    with session_scope(state.engine) as session:
        token_id, value = create_token(session, role, name, expires_at)
    local = expires_at.astimezone(ZoneInfo(state.config.circular.timezone))
    click.echo(value)
    click.echo(
        f"(token {token_id}: {role}{' for ' + name if name else ''}, expires "
        f"{local.isoformat(timespec='minutes')}; shown once, store it safely)",
        err=True,
    )


@token.command("list")
@click.option("--json", "as_json", is_flag=True)
@common
def token_list(state: State, as_json: bool) -> None:
    """Every token: id, name, role, created, last used, expires, state (times local, to the
    minute). Never a token's value or hash."""
    from service.store.tokens import list_tokens

    with session_scope(state.engine) as session:
        rows = list_tokens(session)
    if as_json:
        echo_json(rows)
        return

    zone = ZoneInfo(state.config.circular.timezone)

    def local(value: str | None, empty: str = "—") -> str:
        if not value:
            return empty
        return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")

    header = ["id", "name", "role", "created", "last used", "expires", "state"]
    table = [
        [str(r["id"]), r["name"] or "—", r["role"], local(r["created_at"]),
         local(r["last_used_at"]), local(r["expires_at"], "never"), r["state"]]
        for r in rows
    ]  # fmt: skip
    widths = [max(display_width(row[i]) for row in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        click.echo("  ".join(pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())


@token.command("revoke")
@click.argument("token_id", type=int)
@common
def token_revoke(state: State, token_id: int) -> None:
    """Revoke token ID at once and end its page sessions (audit-logged)."""
    from service.store.tokens import revoke_token

    with session_scope(state.engine) as session:
        row = revoke_token(session, token_id)
    click.echo(
        f"token {row['id']} ({row['role']} {row['name'] or '—'}) revoked {row['revoked_at']}"
    )
