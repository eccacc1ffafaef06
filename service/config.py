"""Configuration: one reader for the CLI, web and workers.

Config is read once, from an explicit environment mapping and an optional ``pingyi.toml``, into a
frozen object that is passed in — nothing deep inside the code reads ``os.environ``. That includes
secrets: a source or subscription stores the *name* of the variable holding its secret, and the
value is read through :meth:`Config.secret` from the environment the config was loaded from (for a
web process, the one it was started with).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from connectors.addresses import AddressPolicy
from service.rules import Rules, RulesError, parse_rules

DEFAULT_DB = "sqlite:///pingyi.sqlite"
CONFIG_FILE = "pingyi.toml"


@dataclass(frozen=True)
class CircularSettings:
    """Who issues the circular and how it is numbered (GB/T 9704 版头 elements)."""

    body: str = "县委政法委员会"
    # ``{year}``, ``{month}``, ``{seq}`` and ``{round}`` are filled in per round.
    doc_number: str = "政法评〔{year}〕{seq}号"
    title: str = "关于{period}全县政法系统民主评议结果的通报"
    recipients: str = "各政法单位："
    cc: str = ""
    # Fixed issue date text (e.g. "2026年11月3日"); empty means the date of rendering.
    date: str = ""
    min_comments: int = 3
    timezone: str = "Asia/Shanghai"
    # Per round kind, the texts that differ from a month's: a quarter's summary and a half year's
    # overall evaluation are numbered in series of their own (``[circular.quarterly]``,
    # ``[circular.semiannual]`` in pingyi.toml, each with ``doc_number`` and ``title``).
    kinds: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: {
            "quarterly": {
                "doc_number": "政法评汇〔{year}〕{seq}号",
                "title": "关于{period}全县政法系统民主评议汇总情况的通报",
            },
            "semiannual": {
                "doc_number": "政法评总〔{year}〕{seq}号",
                "title": "关于{period}全县政法系统民主评议总评结果的通报",
            },
        }
    )

    def for_kind(self, kind: str) -> CircularSettings:
        """The settings a round of ``kind`` is issued with: its own number and title series."""
        own = self.kinds.get(kind)
        return self if not own else replace(self, **own)


@dataclass(frozen=True)
class DrawSettings:
    """How panels are drawn: the default method and optional fixed seats per group."""

    method: str = "hmac-sha256-v1"
    # Fixed quotas per group (e.g. {"人大代表" = 30, ...}); empty means largest remainder.
    quotas: dict[str, int] = field(default_factory=dict)


def _parse_draw(data: Any, origin: str) -> DrawSettings:
    if not isinstance(data, dict):
        raise RulesError(f"{origin}: expected a table")
    unknown = sorted(set(data) - {"method", "quotas"})
    if unknown:
        raise RulesError(f"{origin}: unknown key {unknown[0]!r} (known keys: method, quotas)")
    method = data.get("method", "hmac-sha256-v1")
    if method not in ("hmac-sha256-v1", "rfc3797"):
        raise RulesError(f'{origin}.method: expected "hmac-sha256-v1" or "rfc3797", got {method!r}')
    quotas = data.get("quotas", {})
    if not isinstance(quotas, dict):
        raise RulesError(f"{origin}.quotas: expected a table of group = seats")
    for group, seats in quotas.items():
        if isinstance(seats, bool) or not isinstance(seats, int) or seats < 0:
            raise RulesError(
                f"{origin}.quotas.{group}: expected a whole number of seats, got {seats!r}"
            )
    return DrawSettings(method=method, quotas=dict(quotas))


@dataclass(frozen=True)
class AuthSettings:
    """Staff access (docs/service.md, "Staff access and tokens"): sessions, cookies, origins,
    the login throttle and token lifetimes. Read from ``PINGYI_*`` environment variables."""

    # A page session ends after this long without a request, and at most this long after login.
    session_idle_minutes: int = 60
    session_max_hours: int = 8
    # "auto": the cookie is Secure when the request came over https (as the proxy says, with
    # trusted_proxies); "always" or "never" force it.
    cookie_secure: str = "auto"
    # Origins a state-changing cookie request may come from, e.g. "https://pingyi.example.gov.cn";
    # empty means the service's own origin as the request names it.
    allowed_origins: tuple[str, ...] = ()
    # How many reverse proxies in front of gunicorn set X-Forwarded-For/-Proto/-Host/-Port.
    trusted_proxies: int = 0
    # At most login_limit refused logins per client address within login_window_seconds.
    login_limit: int = 10
    login_window_seconds: int = 300
    # The lifetime of a new token when `pingyi token create` is given none.
    token_days: int = 90


def _origin(value: str) -> str:
    """``scheme://host[:port]``, lowercased, or a RulesError naming the variable."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise RulesError(
            f"PINGYI_ALLOWED_ORIGINS: {value.strip()!r} is not an origin like https://host[:port]"
        )
    return f"{parts.scheme}://{parts.netloc}".lower()


_ON = ("1", "true", "yes", "on")
_OFF = ("0", "false", "no", "off")


def _switch(environ: Mapping[str, str], name: str, default: bool) -> bool:
    """An on/off environment variable; anything but 1/0, true/false, yes/no, on/off is refused
    by name (a typo must not silently leave a door open)."""
    value = (environ.get(name) or "").strip().lower()
    if not value:
        return default
    if value in _ON or value in _OFF:
        return value in _ON
    raise RulesError(f"{name} must be 1/0, true/false, yes/no or on/off, got {value!r}")


def _parse_auth(environ: Mapping[str, str]) -> AuthSettings:
    secure = (environ.get("PINGYI_COOKIE_SECURE") or "auto").strip().lower()
    if secure not in ("auto", "always", "never"):
        raise RulesError(
            f'PINGYI_COOKIE_SECURE must be "auto", "always" or "never", got {secure!r}'
        )
    origins = environ.get("PINGYI_ALLOWED_ORIGINS") or ""
    proxies = (environ.get("PINGYI_TRUSTED_PROXIES") or "0").strip()
    if not proxies.isdigit():
        raise RulesError(f"PINGYI_TRUSTED_PROXIES must be a whole number, got {proxies!r}")
    return AuthSettings(
        session_idle_minutes=_positive_int(environ, "PINGYI_SESSION_IDLE_MINUTES", 60),
        session_max_hours=_positive_int(environ, "PINGYI_SESSION_MAX_HOURS", 8),
        cookie_secure=secure,
        allowed_origins=tuple(_origin(o) for o in origins.split(",") if o.strip()),
        trusted_proxies=int(proxies),
        login_limit=_positive_int(environ, "PINGYI_LOGIN_LIMIT", 10),
        login_window_seconds=_positive_int(environ, "PINGYI_LOGIN_WINDOW_SECONDS", 300),
        token_days=_positive_int(environ, "PINGYI_TOKEN_DAYS", 90),
    )


@dataclass(frozen=True)
class Config:
    """Everything a process needs to know, frozen after loading."""

    database_url: str = DEFAULT_DB
    redis_url: str | None = None
    rules: Rules = field(default_factory=Rules)
    circular: CircularSettings = field(default_factory=CircularSettings)
    draw: DrawSettings = field(default_factory=DrawSettings)
    config_path: Path | None = None
    # Inbox deliveries per ingest transaction (PINGYI_INGEST_BATCH): bigger amortises settling
    # the round, smaller commits sooner.
    ingest_batch: int = 1000
    auth: AuthSettings = field(default_factory=AuthSettings)
    # Where outgoing webhooks may go (PINGYI_WEBHOOKS_ALLOW_LOOPBACK / _PRIVATE): link-local and
    # metadata addresses never; loopback and private ones unless switched off here.
    outgoing: AddressPolicy = field(default_factory=AddressPolicy)
    # The environment the config was loaded from, for secrets only (see the module docstring);
    # kept out of repr and comparisons so it is never printed with the config.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def secret(self, variable: str | None) -> str | None:
        """The value of the environment variable ``variable`` (a secret), or None when unset."""
        return self.environ.get(variable or "") or None


_CIRCULAR_KEYS = {f for f in CircularSettings.__dataclass_fields__} - {"kinds"}
_KIND_KEYS = ("doc_number", "title")


def _parse_circular(data: Any, origin: str) -> CircularSettings:
    if not isinstance(data, dict):
        raise RulesError(f"{origin}: expected a table")
    defaults = CircularSettings().kinds
    known = sorted(_CIRCULAR_KEYS | set(defaults))
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise RulesError(f"{origin}: unknown key {unknown[0]!r} (known keys: {', '.join(known)})")
    kinds = {kind: dict(texts) for kind, texts in defaults.items()}
    plain = {}
    for key, value in data.items():
        if key in kinds:
            kinds[key].update(_kind_texts(value, f"{origin[:-1]}.{key}]"))
            continue
        expected = int if key == "min_comments" else str
        if isinstance(value, bool) or not isinstance(value, expected):
            raise RulesError(f"{origin}.{key}: expected {expected.__name__}, got {value!r}")
        plain[key] = value
    return CircularSettings(**plain, kinds=kinds)


def _kind_texts(data: Any, origin: str) -> dict[str, str]:
    """``[circular.quarterly]`` / ``[circular.semiannual]``: a kind's own number and title."""
    if not isinstance(data, dict):
        raise RulesError(f"{origin}: expected a table")
    for key, value in data.items():
        if key not in _KIND_KEYS:
            raise RulesError(f"{origin}: unknown key {key!r} (known keys: {', '.join(_KIND_KEYS)})")
        if not isinstance(value, str) or not value.strip():
            raise RulesError(f"{origin}.{key}: expected a text, got {value!r}")
    return dict(data)


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise RulesError(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)


def load_config(
    environ: Mapping[str, str], path: Path | None = None, database_url: str | None = None
) -> Config:
    """Build the Config from the environment, the config file and explicit overrides.

    ``path`` defaults to ``$PINGYI_CONFIG`` or ``./pingyi.toml`` when that exists. An unknown
    section or key is refused with its name, because a typo in a rule must never pass silently.
    """
    if path is None:
        env_path = environ.get("PINGYI_CONFIG")
        path = Path(env_path) if env_path else Path(CONFIG_FILE)
        if not env_path and not path.exists():
            path = None
    rules, circular, draw = Rules(), CircularSettings(), DrawSettings()
    if path is not None:
        if not path.exists():
            raise RulesError(f"{path}: config file not found")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RulesError(f"{path}: {exc}") from None
        unknown = sorted(set(data) - {"rules", "circular", "draw"})
        if unknown:
            raise RulesError(
                f"{path}: unknown section [{unknown[0]}] (known: [rules], [circular], [draw])"
            )
        rules = parse_rules(data.get("rules", {}), f"{path} [rules]")
        circular = _parse_circular(data.get("circular", {}), f"{path} [circular]")
        draw = _parse_draw(data.get("draw", {}), f"{path} [draw]")
    return Config(
        database_url=database_url or environ.get("DATABASE_URL") or DEFAULT_DB,
        redis_url=environ.get("REDIS_URL") or None,
        rules=rules,
        circular=circular,
        draw=draw,
        config_path=path,
        ingest_batch=_positive_int(environ, "PINGYI_INGEST_BATCH", 1000),
        auth=_parse_auth(environ),
        outgoing=AddressPolicy(
            allow_loopback=_switch(environ, "PINGYI_WEBHOOKS_ALLOW_LOOPBACK", True),
            allow_private=_switch(environ, "PINGYI_WEBHOOKS_ALLOW_PRIVATE", True),
        ),
        environ=MappingProxyType(dict(environ)),
    )
