"""The connector contract: one :class:`Platform` object says what a platform offers pingyi.

A platform package (``connectors/<platform>/``) builds one ``Platform`` and the registry lists it;
nothing outside ``connectors/`` imports a platform package or names a kind. Every capability is
optional, and a caller asks the descriptor rather than the kind:

``options``
    The ``source add`` options, a marshmallow schema both the CLI and the API read. Field
    metadata (:func:`option`) gives the help text, whether the value is a file's text, and —
    for a secret — what the *environment variable named by the value* holds. Secret values never
    travel through an option, the database, an API answer or a log: only variable names do, and
    the caller reads the values from its own configuration into :class:`SourceSettings`.
``setup``
    Adding a source: check the options, read the survey's structure where the platform has one,
    build the mapping; returns what is stored and what ``source add`` reports.
``webhooks``
    Which request headers it needs; a verifier (built once per source, with its secrets) that
    turns a request into a delivery id to store, ``None`` for an event the source ignores (200),
    or raises :class:`WebhookRejected` (401) / :class:`WebhookMalformed` (400); and a parser from
    a stored delivery to records. A platform that cannot sign may take a per-source secret in the
    URL (``/hooks/<source>/<key>``, ``WebhookRequest.key``) and should re-read what it is told
    through its API before trusting it.
``polling``
    ``poll(cursor) -> Page``: the records after an opaque, Singer-style cursor the connector
    alone reads. The caller stores a page's records and its cursor *in one transaction*, so a
    page that fails leaves the cursor where it was: delivery is at least once, and the store's
    idempotence on (source, platform response id) makes the effect exactly once. ``in_order``
    says whether a poll returns records in submission order; when not (LimeSurvey completes an
    old response under its old id) nothing downstream may assume the last record is the newest.
``export``
    A file (the platform's own export) -> records (a list, or a stream for a large file), for
    ``pingyi ingest ID FILE --format KIND``.
``link`` / ``platform_token`` / ``push_panel``
    A seat's personal survey link; the copy of a seat token the platform carries, when it cannot
    carry the token itself; pushing a round's seats as the platform's participants.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from marshmallow import Schema, ValidationError, fields, missing, validate

from connectors.canonical import RawRecord

# An environment variable's name: what a secret option holds instead of the secret.
ENV_NAME = validate.Regexp(
    r"^[A-Za-z_][A-Za-z0-9_]*$", error="not an environment variable name (letters, digits, _)"
)
# Names ``source add`` takes for itself, whatever the kind: no platform may use them.
RESERVED_OPTIONS = frozenset({"name", "kind", "round", "replace", "json", "db", "config", "help"})
KIND = re.compile(r"^[a-z][a-z0-9-]{1,31}$")


class ConnectorError(Exception):
    """The platform could not be read or written; the message says what and where, never a
    secret, a token or a payload."""


class CredentialsError(ConnectorError):
    """The platform refused the source's credentials; never retried, since repeated refusals
    lock an account out on most platforms."""


class ConfigError(ConnectorError, ValueError):
    """A source's configuration or mapping cannot work with this survey; refused when the
    source is added, naming the question, code or setting at fault."""


class OptionsRefused(ConfigError):
    """``source add`` options that do not fit the kind: names it does not take (``unknown``) or
    values it refuses (``errors``: option name -> messages). Callers spell the names their way
    (``--secret-env`` on the command line, ``secret_env`` in JSON)."""

    def __init__(self, kind: str, unknown: Sequence[str], errors: Mapping[str, list[str]]):
        self.kind, self.unknown, self.errors = kind, list(unknown), dict(errors)
        super().__init__(self.describe(lambda name: name))

    def describe(self, spell: Callable[[str], str]) -> str:
        if self.unknown:
            names = ", ".join(spell(n) for n in self.unknown)
            return f"{names}: not an option of a {self.kind} source"
        return "; ".join(f"{spell(n)}: {' '.join(m)}" for n, m in sorted(self.errors.items()))


class WebhookRejected(ConnectorError):
    """Verification failed: the delivery is not authentic or not fresh (HTTP 401)."""


class WebhookMalformed(ConnectorError):
    """The delivery is authentic (or needs no proof) but cannot be read (HTTP 400)."""


def option(help: str, *, secret: str | None = None, file: bool = False) -> dict[str, Any]:
    """Field metadata of a ``source add`` option.

    ``secret`` says what the environment variable *named by the option's value* holds (e.g.
    ``"password"``); ``file``: the value is a file's text (the CLI takes a path and reads it, the
    API takes the text itself).
    """
    return {"help": help, "secret": secret, "file": file}


@dataclass(frozen=True)
class OptionSpec:
    """One ``source add`` option as the CLI and the API show it."""

    name: str
    type: str  # string, integer, number or boolean
    required: bool
    default: Any
    help: str
    secret: str | None
    file: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default": self.default,
            "help": self.help,
            "secret": self.secret,
            "file": self.file,
        }


def _type_name(f: fields.Field) -> str:
    if isinstance(f, fields.Boolean):
        return "boolean"
    if isinstance(f, fields.Integer):
        return "integer"
    if isinstance(f, fields.Number):
        return "number"
    return "string"


@dataclass(frozen=True)
class SourceSettings:
    """What a connector is told about one source: its name, options or stored configuration (the
    names of secret variables, never their values), the secrets that are set, and its mapping."""

    name: str
    config: Mapping[str, Any]
    secret_vars: Mapping[str, str]  # secret name -> the environment variable that holds it
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # only those set
    mapping: Mapping[str, Any] | None = None

    def secret(self, name: str) -> str:
        """A secret's value; refused, naming the variable (never a value), when it is not set."""
        value = self.secrets.get(name)
        if not value:
            raise ConfigError(
                f"environment variable {self.secret_vars.get(name)} is not set (it holds the {name})"
            )
        return value


@dataclass(frozen=True)
class SetupContext:
    """What the round's rules and the store say a mapping must fit, and how long the caller can
    wait for the platform (``budget`` seconds: the API answers within the web timeout)."""

    units: list[str]
    labels: list[str]  # the scale's and the no-vote labels
    criteria: list[str]
    budget: float | None = None
    # Unit code -> the unit's name in the round: platforms whose forms title rows by name (问卷星,
    # 金数据, 腾讯问卷) map a row to a unit by either.
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SetupResult:
    """A source ready to store: its configuration and mapping (JSON, no secret values), and
    what ``source add`` reports (``summary`` for ``--json`` and the API, ``lines`` for people).

    ``hook`` is for a platform whose senders post somewhere other than the plain
    ``/hooks/<name>``, e.g. ``/hooks/<name>/<key>`` with a per-source key: the path as it may be
    shown in ``--json`` and the API (a secret key written as a placeholder, since those answers
    are kept and logged), while the platform prints the real URL in its own ``lines``. With it,
    ``source add`` prints no generic "senders POST to" line, which would name the wrong URL."""

    config: dict[str, Any]
    mapping: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    hook: str | None = None


@dataclass(frozen=True)
class WebhookRequest:
    """A request to ``/hooks/<source>[/<key>]``: the headers the platform declared (lower-case
    names, ``""`` when absent), the raw body, and the URL key when one was given."""

    headers: Mapping[str, str]
    body: bytes
    key: str | None = None


@dataclass(frozen=True)
class Delivery:
    """A stored webhook delivery, as the inbox hands it back to be parsed."""

    id: str
    headers: Mapping[str, str]
    body: bytes


# A source's verifier: the delivery id to store, or None for an event the source ignores.
Verifier = Callable[[WebhookRequest], "str | None"]


@dataclass(frozen=True)
class Webhooks:
    """How a platform pushes: ``verifier(settings)`` is built once per source (it may decode its
    secret then) and raises :class:`ConfigError` when a secret is missing; ``parse`` turns a
    stored delivery into records. ``headers`` are read from each request for verification;
    ``kept`` (a subset) are stored with the delivery, for audit and re-verification. ``keyed``:
    the platform cannot sign, so senders post to ``/hooks/<source>/<key>`` with a per-source
    key, and that is the address staff are shown (the key itself only once, at setup)."""

    headers: tuple[str, ...]
    kept: tuple[str, ...]
    verifier: Callable[[SourceSettings], Verifier]
    parse: Callable[[SourceSettings, Delivery], list[RawRecord]]
    keyed: bool = False

    def path(self, source: str) -> str:
        """The address senders post to, as staff are shown it."""
        return f"/hooks/{source}/<key>" if self.keyed else f"/hooks/{source}"


@dataclass(frozen=True)
class Page:
    """One poll's result: the records, the cursor after them, and whether the poll is done.

    ``done`` is False when the connector stopped early (e.g. at a page-size limit): the caller
    stores this page, then polls again from ``cursor``.
    """

    records: list[RawRecord]
    cursor: Any
    done: bool = True
    notes: list[str] = field(default_factory=list)


class Poller(Protocol):
    """An open connection to a platform for one source; closed by the caller."""

    @property
    def calls(self) -> Mapping[str, int]:
        """Calls made so far, by method (reported with a poll's result)."""
        ...

    def poll(self, cursor: Any, full: bool = False) -> Page: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Polling:
    """How a source of the platform is polled: ``open(settings, **options)`` (tests pass a retry
    policy or a clock as options) and whether records come in submission order."""

    open: Callable[..., Poller]
    in_order: bool


@dataclass(frozen=True)
class SeatRef:
    """A seat as a connector may see it when pushing a panel: never who holds it."""

    seat_id: int
    token: str
    status: str  # active, replaced or void
    group: str


@dataclass(frozen=True)
class PushResult:
    """What pushing a panel did on the platform, by count."""

    added: int = 0
    present: int = 0
    invalidated: int = 0
    already_invalid: int = 0
    foreign: int = 0


@dataclass(frozen=True)
class Platform:
    """Everything pingyi knows about one platform (see the module docstring); ``None`` where the
    platform does not offer it. A platform without ``options`` and ``setup`` is not a source
    kind (e.g. ``canonical``, a file format only)."""

    kind: str
    title: str
    options: type[Schema] | None = None
    setup: Callable[[SourceSettings, SetupContext], SetupResult] | None = None
    webhooks: Webhooks | None = None
    polling: Polling | None = None
    export: Callable[[Path, SourceSettings | None], Iterable[RawRecord]] | None = None
    link: Callable[[SourceSettings, str], str] | None = None
    platform_token: Callable[[str], str] | None = None
    push_panel: Callable[[SourceSettings, str, Sequence[SeatRef], bool], PushResult] | None = None
    describe: Callable[[Mapping[str, Any]], str] | None = None  # a stored config, in one line
    describe_cursor: Callable[[Any], str] | None = None

    def option_specs(self) -> list[OptionSpec]:
        """The ``source add`` options, in declaration order."""
        if self.options is None:
            return []
        specs = []
        for name, f in self.options().fields.items():
            meta = f.metadata
            default = None if f.load_default is missing else f.load_default
            specs.append(
                OptionSpec(
                    name,
                    _type_name(f),
                    f.required,
                    None if callable(default) else default,
                    meta.get("help", ""),
                    meta.get("secret"),
                    bool(meta.get("file")),
                )
            )
        return specs

    def secret_fields(self) -> dict[str, str]:
        """Secret name -> the option (and stored config field) naming its variable."""
        return {s.secret: s.name for s in self.option_specs() if s.secret}

    def load_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Validated options; names of another kind or refused values raise OptionsRefused."""
        if self.options is None:
            raise ConfigError(f"{self.kind} is not a kind of source")
        schema = self.options()
        unknown = sorted(set(given) - set(schema.fields))
        if unknown:
            raise OptionsRefused(self.kind, unknown, {})
        try:
            return schema.load(dict(given))
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
            raise OptionsRefused(
                self.kind, [], {k: [str(m) for m in _flat(v)] for k, v in messages.items()}
            ) from None

    def settings(
        self,
        name: str,
        config: Mapping[str, Any],
        environ: Mapping[str, str],
        mapping: Mapping[str, Any] | None = None,
    ) -> SourceSettings:
        """A source's settings, its secrets read from ``environ`` (the caller's configuration)."""
        variables = {s: str(config.get(f) or "") for s, f in self.secret_fields().items()}
        secrets = {s: environ[v] for s, v in variables.items() if v and environ.get(v)}
        return SourceSettings(name, config, variables, secrets, mapping)


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [m for v in value.values() for m in _flat(v)]
    return [value]
