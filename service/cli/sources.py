"""``pingyi source add|list|push-panel`` and ``pingyi poll``: survey platforms from the CLI.

Secrets never pass through a command line or the database: a source stores the *name* of the
environment variable that holds its password (``--password-env LS_PASSWORD``), and this module —
the CLI layer — reads the value from the environment and hands it to the connector.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from connectors.base import ConnectorError, CredentialsError, SeatRef
from connectors.mapping import Scale, load_scale
from connectors.registry import connector_class, secret_fields, source_kinds
from service.cli.base import State, common, echo_json
from service.store.engine import StoreError, session_scope

DEFAULT_TZ = "Asia/Shanghai"
WEBHOOK_KIND = "standard-webhooks"


@contextmanager
def platform_errors(hint: str = "") -> Iterator[None]:
    """A platform's refusal becomes a one-line error (exit 1), never a traceback."""
    try:
        yield
    except CredentialsError as exc:
        raise click.ClickException(f"{exc} ({hint})" if hint else str(exc)) from None
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None


def read_secrets(cls: type, config: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """The connector's secrets from the environment variables its config names."""
    out = {}
    for secret, field in cls.secrets.items():
        var = config.get(field)
        value = environ.get(var or "")
        if not value:
            raise StoreError(f"environment variable {var} is not set (it holds the {secret})")
        out[secret] = value
    return out


@click.group("source")
def source() -> None:
    """Survey platforms feeding a round: add, list, push the panel."""


@source.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice([*source_kinds(), WEBHOOK_KIND]), required=True)
@click.option("--round", "round_id", required=True, help="The round its ballots belong to.")
@click.option(
    "--url", help="LimeSurvey site or RemoteControl URL (…/index.php/admin/remotecontrol)."
)
@click.option("--survey", type=int, help="Survey id (sid).")
@click.option("--username", help="LimeSurvey user with read access to responses and participants.")
@click.option("--password-env", metavar="VAR", help="Environment variable holding the password.")
@click.option(
    "--question", default="SCORES", show_default=True, help="Array question: rows = units."
)
@click.option("--comments", metavar="CODE", help="Multiple short text question: rows = units.")
@click.option("--scale", type=click.Path(path_type=Path, dir_okay=False), help="Scale file (TOML).")
@click.option("--tz", default=DEFAULT_TZ, show_default=True, help="The LimeSurvey server's zone.")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Read timeout, s.")
@click.option(
    "--replace", is_flag=True, help="Rebuild an existing source's mapping; keep its cursor."
)
@click.option(
    "--secret-env",
    metavar="VAR",
    help="standard-webhooks: environment variable holding the whsec_ secret.",
)
@click.option("--json", "as_json", is_flag=True)
@common
def source_add(state: State, name: str, kind: str, round_id: str, **opts: Any) -> None:
    """Connect, read the survey's structure, build the mapping, and store the source.

    A standard-webhooks source needs only --secret-env: its senders post canonical ballots.
    """
    from service.store.sources import active_unit_codes, add_source, get_source

    if kind == WEBHOOK_KIND:
        _add_webhook_source(
            state, name, round_id, opts["secret_env"], opts["replace"], opts["as_json"]
        )
        return
    for option in ("url", "survey", "username", "password_env"):
        if opts[option] is None:
            raise click.UsageError(f"--{option.replace('_', '-')} is required for a {kind} source")
    config = {
        "url": opts["url"],
        "survey": opts["survey"],
        "username": opts["username"],
        "password_env": opts["password_env"],
        "tz": opts["tz"],
        "timeout": opts["timeout"],
    }
    cls = connector_class(kind)
    secrets = read_secrets(cls, config, os.environ)
    scale = load_scale(opts["scale"]) if opts["scale"] else Scale()
    rules = state.config.rules
    with session_scope(state.engine) as session:
        from service.store.rounds import get_round

        get_round(session, round_id)
        if not opts["replace"]:
            try:
                get_source(session, name)
            except StoreError:
                pass
            else:
                raise StoreError(f"source {name!r} already exists (use --replace to rebuild it)")
        units = active_unit_codes(session)
    if not units:
        raise StoreError("there are no units yet (pingyi import units FILE first)")
    hint = f"user {opts['username']}, password from ${opts['password_env']}"
    with platform_errors(hint), cls(config, secrets) as connector:
        mapping, notes = connector.build_mapping(
            opts["question"],
            units,
            [*rules.scale, *rules.no_vote],
            [c.name for c in rules.criteria],
            scale,
            opts["comments"],
        )
    with session_scope(state.engine) as session:
        add_source(session, name, kind, round_id, config, mapping.to_json(), opts["replace"])
    summary = {
        "source": name,
        "kind": kind,
        "round": round_id,
        "survey": opts["survey"],
        "question": mapping.question,
        "type": mapping.qtype,
        "units": len({c.unit for c in mapping.columns}),
        "criteria": sorted({c.criterion for c in mapping.columns if c.criterion}),
        "answers": {k: str(v) for k, v in mapping.answers.items()},
        "numeric": mapping.numeric,
        "factor": None if mapping.factor is None else str(mapping.factor),
        "comments": len(mapping.comments),
        "notes": notes,
    }
    if opts["as_json"]:
        echo_json(summary)
        return
    click.echo(
        f"source {name} {'updated' if opts['replace'] else 'added'}: {kind} survey "
        f"{opts['survey']} for round {round_id}"
    )
    criteria = "、".join(summary["criteria"]) or "one answer per unit"
    click.echo(
        f"  question {mapping.question} (type {mapping.qtype}): {summary['units']} units, {criteria}"
    )
    if mapping.answers:
        pairs = ", ".join(f"{k} → {v}" for k, v in summary["answers"].items())
        click.echo(f"  answers: {pairs}")
    if mapping.numeric:
        click.echo(f"  numbers read as points{f' × {mapping.factor}' if mapping.factor else ''}")
    if mapping.comments:
        click.echo(f"  comments: {len(mapping.comments)} units")
    for note in notes:
        click.echo(f"  note: {note}")


@source.command("list")
@click.option("--json", "as_json", is_flag=True)
@common
def source_list(state: State, as_json: bool) -> None:
    """Sources with their survey, last poll and last error; secrets shown only as a variable name."""
    from service.store.sources import list_sources

    with session_scope(state.engine) as session:
        rows = []
        for s in list_sources(session):
            config = dict(s.config)
            secret_vars = [config.get(f) for f in secret_fields(s.kind).values()]
            cursor = s.cursor or {}
            rows.append(
                {
                    "name": s.name,
                    "kind": s.kind,
                    "round": s.round_id,
                    "config": config,
                    "secrets_set": {v: bool(os.environ.get(v or "")) for v in secret_vars},
                    "question": s.mapping.get("question"),
                    "last_poll_at": s.last_poll_at.isoformat() if s.last_poll_at else None,
                    "last_error": s.last_error,
                    "max_response_id": cursor.get("max_id"),
                    "pending": len(cursor.get("pending", [])),
                }
            )
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no sources (add one with: pingyi source add NAME --kind limesurvey …)")
    for r in rows:
        c = r["config"]
        env = ", ".join(f"${v} {'set' if ok else 'NOT SET'}" for v, ok in r["secrets_set"].items())
        if r["kind"] == WEBHOOK_KIND:
            click.echo(f"{r['name']}\t{r['kind']}\tround {r['round']}\tPOST /hooks/{r['name']}")
            click.echo(f"  secret in {env}")
            continue
        click.echo(f"{r['name']}\t{r['kind']}\tround {r['round']}\tsurvey {c.get('survey')}")
        click.echo(f"  {c.get('url')}  user {c.get('username')}  password in {env}")
        last = r["last_poll_at"] or "never"
        click.echo(
            f"  last poll {last}; response ids up to {r['max_response_id'] or 0}, {r['pending']} incomplete"
        )
        if r["last_error"]:
            click.echo(f"  last error: {r['last_error']}")


@source.command("push-panel")
@click.argument("name")
@click.option("--with-group", is_flag=True, help="Also send each seat's group (as first name).")
@click.option(
    "--links",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a CSV of each active seat's survey link (private: links carry access codes).",
)
@click.option("--json", "as_json", is_flag=True)
@common
def source_push_panel(
    state: State, name: str, with_group: bool, links: Path | None, as_json: bool
) -> None:
    """Add the round's active seats as participants (seat tokens as access codes), idempotently;
    participants of replaced or void seats are invalidated."""
    from service.store.sources import get_source, record_push, round_seats, seat_holders

    with session_scope(state.engine) as session:
        src = get_source(session, name)
        kind, round_id, config = src.kind, src.round_id, dict(src.config)
        seats = [
            SeatRef(s.seat_id, s.token, s.status, s.group) for s in round_seats(session, round_id)
        ]
        holders = seat_holders(session, round_id) if links else {}
    if not any(s.status == "active" for s in seats):
        raise StoreError(f"round {round_id} has no active seats (draw or set its panel first)")
    cls = connector_class(kind)
    hint = f"user {config.get('username')}, password from ${config.get('password_env')}"
    with platform_errors(hint), cls(config, read_secrets(cls, config, os.environ)) as connector:
        result = connector.push_panel(round_id, seats, with_group)
        if links:
            _write_links(links, connector, seats, holders)
    counts = {
        "added": result.added,
        "present": result.present,
        "invalidated": result.invalidated,
        "already_invalid": result.already_invalid,
        "foreign": result.foreign,
    }
    with session_scope(state.engine) as session:
        record_push(session, get_source(session, name), counts)
    if as_json:
        echo_json({"source": name, "round": round_id, **counts})
        return
    click.echo(
        f"source {name} (round {round_id}): {result.added} participants added, "
        f"{result.present} already there, {result.invalidated} invalidated "
        f"(seats replaced or void; {result.already_invalid} already were)"
    )
    if result.foreign:
        click.echo(f"  {result.foreign} participants not from this round's seats left as they are")
    if links:
        click.echo(f"  wrote {links} (keep it private: each link carries a seat's access code)")


def _write_links(path: Path, connector: Any, seats: list[SeatRef], holders: dict) -> None:
    """evaluator, name, group, link for each active seat: what the office sends out."""
    rows = [
        (*holders.get(s.seat_id, ("", "")), s.group, connector.survey_link(s.token))
        for s in seats
        if s.status == "active"
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["evaluator", "name", "group", "link"])
    writer.writerows(sorted(rows, key=lambda r: (r[2], r[0])))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8-sig")  # Excel reads a BOM'd CSV as UTF-8


@click.command("poll")
@click.argument("name", required=False)
@click.option("--full", is_flag=True, help="Read every response again (safe: nothing is doubled).")
@click.option("--json", "as_json", is_flag=True)
@common
def poll(state: State, name: str | None, full: bool, as_json: bool) -> None:
    """Poll one source, or all: new ballots in, cursor moved; exit 1 if any source failed."""
    from jobs.poll import PollResult, poll_source
    from service.store.sources import get_source, list_sources, record_poll_error

    with session_scope(state.engine) as session:
        sources = [get_source(session, name)] if name else list_sources(session)
        if name and sources[0].kind not in source_kinds():
            raise StoreError(
                f"source {name!r} is a {sources[0].kind} source: it is pushed, not polled"
            )
        todo = [
            (s.name, s.kind, s.round_id, dict(s.config))
            for s in sources
            if s.kind in source_kinds()
        ]
    results: list[PollResult] = []
    for src_name, kind, round_id, config in todo:
        try:
            secrets = read_secrets(connector_class(kind), config, os.environ)
        except StoreError as exc:
            with session_scope(state.engine) as session:
                record_poll_error(session, src_name, str(exc))
            results.append(PollResult(src_name, round_id, error=str(exc)))
            continue
        results.append(poll_source(state.engine, src_name, state.config.rules, secrets, full))
    if as_json:
        echo_json([r.as_dict() for r in results])
    elif not results:
        click.echo("no sources to poll (add one with: pingyi source add NAME --kind limesurvey …)")
    for r in results:
        if as_json:
            break
        if r.error:
            click.echo(f"{r.source} (round {r.round_id}): FAILED: {r.error}")
            continue
        d = r.as_dict()
        click.echo(
            f"{r.source} (round {r.round_id}): {d['new']} new, {d['updated']} updated, "
            f"{d['rejected']} rejected, {d['unchanged']} unchanged"
        )
    if any(r.error for r in results):
        raise click.exceptions.Exit(1)


def _add_webhook_source(
    state: State, name: str, round_id: str, secret_env: str | None, replace: bool, as_json: bool
) -> None:
    """A Standard Webhooks source: it keeps the name of the variable holding its secret."""
    from connectors.standard_webhooks.connector import secret_key
    from service.store.sources import add_source

    if not secret_env:
        raise click.UsageError("--secret-env is required for a standard-webhooks source")
    value = os.environ.get(secret_env)
    if value:
        secret_key(value)  # a malformed secret is refused now, not at the first delivery
    with session_scope(state.engine) as session:
        add_source(session, name, WEBHOOK_KIND, round_id, {"secret_env": secret_env}, {}, replace)
    summary = {"source": name, "kind": WEBHOOK_KIND, "round": round_id, "url": f"/hooks/{name}",
               "secret_env": secret_env, "secret_set": bool(value)}  # fmt: skip
    if as_json:
        echo_json(summary)
        return
    click.echo(
        f"source {name} added: standard-webhooks for round {round_id}; senders POST to /hooks/{name}"
    )
    if not value:
        click.echo(
            f"  note: ${secret_env} is not set here; the web process needs it (e.g. in .env)"
        )
