"""``pingyi draw …`` and ``pingyi panel links``: the draw ceremony from the command line.

``pingyi draw ID --seed SEED`` and ``pingyi draw verify ID`` share one group: the group routes a
first argument that is not a subcommand name to the hidden ``run`` command.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import click

from service.cli.base import State, common, echo_json
from service.cli.tables import pad
from service.store.engine import session_scope


class DrawGroup(click.Group):
    """``pingyi draw ROUND …`` runs the draw; ``pingyi draw announce|verify|…`` the rest."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(
    cls=DrawGroup,
    subcommand_metavar="ROUND_ID (--numbers TEXT | --seed TEXT) [OPTIONS] | COMMAND [ARGS]...",
)
def draw() -> None:
    """Verifiable panel draw (docs/draw.md): announce, draw, verify, replace, stats.

    \b
    The draw itself, after `draw announce` and the lottery:
      pingyi draw ROUND_ID --numbers "9319; 2 5 12 8 10"   lottery results, sources by ";"
      pingyi draw ROUND_ID --seed "9319./2.5.8.10.12./"    or the seed string itself
    with --seats N (announce and draw in one step), --method, --force (redo a drawn round;
    its old tokens stop working) and --json. `pingyi draw ROUND_ID --help` shows them.
    """


def _sources(text: str) -> list[str]:
    return [s.strip() for s in text.replace("；", ";").split(";") if s.strip()]


@draw.command("announce")
@click.argument("round_id")
@click.option("--seats", type=int, required=True, help="Seats to fill.")
@click.option("--sources", default="", help='Named lottery draws, in order: "快乐8 2026-10-20; …"')
@click.option("--method", type=click.Choice(["hmac-sha256-v1", "rfc3797"]), default=None)
@click.option("--force", is_flag=True, help="Announce again (the old announcement is voided).")
@click.option("--json", "as_json", is_flag=True)
@common
def announce_cmd(
    state: State,
    round_id: str,
    seats: int,
    sources: str,
    method: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Freeze the eligible pool, seats per group, method and sources; print the announcement."""
    from jobs.draw.ceremony import announce
    from service.store.draws import announced_allocation

    settings = state.config.draw
    with session_scope(state.engine) as session:
        d = announce(
            session,
            round_id,
            seats,
            _sources(sources),
            method or settings.method,
            settings.quotas or None,
            force,
        )
        allocation = announced_allocation(session, d)
        data = {
            "round": round_id,
            "method": d.method,
            "seats": d.seats,
            "sources": d.sources,
            "pool_sha256": d.pool_sha256,
            "allocation": allocation,
            "pool": d.pool,
        }
    if as_json:
        echo_json(data)
        return
    click.echo(format_announcement(data))


def format_announcement(data: dict) -> str:
    """The announcement as it is published (Chinese and English labels)."""
    alloc = data["allocation"]
    lines = [
        f"评委抽取公告 — draw announcement, round {data['round']}",
        f"方法 method: {data['method']}",
        f"席位 seats: {data['seats']}",
        "随机源 sources, in this order: "
        + ("; ".join(f"{i}. {s}" for i, s in enumerate(data["sources"], 1)) or "(none named)"),
        f"评委库指纹 pool SHA-256: {data['pool_sha256']}",
        "",
        f"{pad('group', 14)}{'active':>8}{'eligible':>10}{'seats':>7}{'cycle':>7}",
    ]
    for g in data["pool"]["groups"]:
        seats = str(alloc["fixed"][g["name"]])
        if g["name"] in alloc["tied"]:
            seats += "+?"
        note = "  (cycle restarted)" if g["restarted"] else ""
        lines.append(
            f"{pad(g['name'], 14)}{g['active']:>8}{len(g['eligible']):>10}{seats:>7}{g['cycle']:>7}{note}"
        )
    if alloc["tied"]:
        lines.append(
            f"+? : {alloc['tied_seats']} more seat(s) go to {', '.join(alloc['tied'])}, "
            'decided by HMAC-SHA256(K, "<round>|<group>") once the seed is known'
        )
    if data["method"] == "rfc3797":
        lines.append(
            "rfc3797 draws from one list: groups get no seats of their own; the seats column is "
            "each group's proportional share, the threshold of its rotation"
        )
    lines.append("")
    lines.append("eligible members:")
    for g in data["pool"]["groups"]:
        lines.append(f"  {g['name']}: {' '.join(g['eligible'])}")
    # What eligibility was derived from, so anyone can redo it (docs/draw.md, Rotation).
    rotation = data["pool"].get("rotation", {}).get("groups", {})
    served = {g: h["served"] for g, h in rotation.items() if h["served"]}
    if served:
        lines.append("served earlier in the current cycle:")
        lines += [f"  {g}: {' '.join(ids)}" for g, ids in served.items()]
    inactive = data["pool"].get("inactive", {})
    if inactive:
        lines.append("inactive members (never eligible):")
        lines += [f"  {g}: {' '.join(ids)}" for g, ids in inactive.items()]
    return "\n".join(lines)


def _seed(seed: str | None, numbers: str | None) -> str:
    from jobs.draw.method import seed_from_numbers

    if bool(seed) == bool(numbers):
        raise click.UsageError("give exactly one of --seed or --numbers")
    return seed if seed else seed_from_numbers(numbers or "")


@draw.command("run", hidden=True)
@click.argument("round_id")
@click.option("--seed", help="Seed string, e.g. 9319./2.5.8.10.12./")
@click.option("--numbers", help='Lottery results, sources separated by ";": "9319; 2 5 12 8 10"')
@click.option("--method", type=click.Choice(["hmac-sha256-v1", "rfc3797"]), default=None)
@click.option("--seats", type=int, default=None, help="Announce and draw in one step.")
@click.option(
    "--force", is_flag=True, help="Redo a drawn round (recorded; old tokens stop working)."
)
@click.option("--json", "as_json", is_flag=True)
@common
def run_cmd(
    state: State,
    round_id: str,
    seed: str | None,
    numbers: str | None,
    method: str | None,
    seats: int | None,
    force: bool,
    as_json: bool,
) -> None:
    """Draw ROUND_ID's panel from the seed and print seats (with tokens) and reserve lists."""
    from jobs.draw.ceremony import draw as run_draw

    seed_text = _seed(seed, numbers)
    settings = state.config.draw
    with session_scope(state.engine) as session:
        d, seated = run_draw(
            session,
            round_id,
            seed_text,
            method or (None if seats is None else settings.method),
            seats,
            settings.quotas or None,
            force,
        )
        data = draw_json(d, [(seat.group_name, member, seat.token) for seat, member in seated])
    if as_json:
        echo_json(data)
        return
    click.echo(f"round {round_id}: {len(seated)} seats drawn ({data['method']})")
    click.echo(f"seed {data['seed']}\nK    {data['key']}\npool {data['pool_sha256']}")
    for seat in data["seats"]:
        click.echo(f"{seat['evaluator']}\t{seat['group']}\t{seat['token']}")
    for group, members in data["reserve"].items():
        click.echo(f"reserve {group}: {' '.join(members) or '—'}")


def draw_json(d, seats: list[tuple[str, str, str]]) -> dict:
    """The draw JSON (docs/draw.md, "The draw JSON")."""
    return {
        "round": d.round_id,
        "method": d.method,
        "seed": d.seed,
        "key": d.key,
        "pool_sha256": d.pool_sha256,
        "seats": [{"evaluator": m, "group": g, "token": t} for g, m, t in seats],
        "reserve": d.result["reserve"] if d.result else {},
    }


@draw.command("verify")
@click.argument("round_id")
@click.option("--json", "as_json", is_flag=True)
@common
def verify_cmd(state: State, round_id: str, as_json: bool) -> None:
    """Recompute the draw from its audit record and compare; exit 1 on any difference."""
    from jobs.draw.verify import verify_draw

    with session_scope(state.engine) as session:
        differences, notes = verify_draw(session, round_id)
    if as_json:
        echo_json(
            {
                "round": round_id,
                "match": not differences,
                "differences": differences,
                "notes": notes,
            }
        )
    else:
        if not differences:
            click.echo(
                f"round {round_id}: match — the draw recomputes exactly from its audit record"
            )
        else:
            click.echo(f"round {round_id}: DIFFERENT — first difference: {differences[0]}")
            for more in differences[1:]:
                click.echo(f"  also: {more}")
        for note in notes:
            click.echo(f"  note: {note}")
    if differences:
        raise SystemExit(1)


@draw.command("replace")
@click.argument("round_id")
@click.argument("member", metavar="MEMBER")
@click.option("--reason", required=True)
@common
def replace_cmd(state: State, round_id: str, member: str, reason: str) -> None:
    """Replace a seated member who cannot serve by the next member of their group's reserve."""
    from jobs.draw.ceremony import replace

    with session_scope(state.engine) as session:
        replacement, seat = replace(session, round_id, member, reason)
        token = seat.token
    click.echo(f"round {round_id}: {member} replaced by {replacement}; old token revoked")
    click.echo(f"{replacement}\t{seat.group_name}\t{token}")


@draw.command("stats")
@click.option("--rounds", type=int, default=None, help="Only the last N drawn rounds.")
@click.option("--json", "as_json", is_flag=True)
@common
def stats_cmd(state: State, rounds: int | None, as_json: bool) -> None:
    """How often each member has served, per group, and each group's selection probability."""
    from jobs.draw.ceremony import stats

    with session_scope(state.engine) as session:
        data = stats(session, rounds)
    if as_json:
        echo_json(data)
        return
    click.echo(f"{len(data['rounds'])} drawn rounds: {', '.join(data['rounds']) or '—'}")
    click.echo(f"{pad('group', 14)}{'members':>8}{'min':>5}{'max':>5}{'mean':>8}  served 0/1/2/…")
    for group, g in data["groups"].items():
        spread = sorted(set(g["counts"].values()))
        hist = "/".join(str(list(g["counts"].values()).count(k)) for k in range(spread[-1] + 1))
        click.echo(
            f"{group:<12}{g['members']:>8}{g['min']:>5}{g['max']:>5}{g['mean']:>8.2f}  {hist}"
        )
    for r in data["per_round"]:
        probs = ", ".join(
            f"{name} {v['seats']}/{v['eligible']} = {v['probability']:.3f}"
            for name, v in r["groups"].items()
        )
        click.echo(f"  {r['round']}: {probs}")


@click.command("links")
@click.argument("round_id")
@click.option("--template", help="Survey URL with {token}.")
@click.option("--source", "source_name", help="Links in this source's platform form instead.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@common
def links_cmd(
    state: State, round_id: str, template: str | None, source_name: str | None, output: Path
) -> None:
    """Write a CSV of personalised survey links for the office that sends them out."""
    from jobs.draw.ceremony import links
    from jobs.sources import seat_links

    if bool(template) == bool(source_name):
        raise click.UsageError("give --template or --source")
    with session_scope(state.engine) as session:
        if source_name:
            rows = seat_links(session, state.config, source_name, round_id)
        else:
            rows = links(session, round_id, template)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["evaluator", "name", "group", "link"])
    writer.writerows([r.member, r.name, r.group, r.link] for r in rows)
    # UTF-8 with BOM: Excel on a Chinese Windows desktop then shows the names correctly.
    output.write_text(buffer.getvalue(), encoding="utf-8-sig")
    click.echo(f"wrote {output}: {len(rows)} links (keep this file private: links carry tokens)")
