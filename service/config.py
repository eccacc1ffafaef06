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
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

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
    # The environment the config was loaded from, for secrets only (see the module docstring);
    # kept out of repr and comparisons so it is never printed with the config.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def secret(self, variable: str | None) -> str | None:
        """The value of the environment variable ``variable`` (a secret), or None when unset."""
        return self.environ.get(variable or "") or None


_CIRCULAR_KEYS = {f for f in CircularSettings.__dataclass_fields__}


def _parse_circular(data: Any, origin: str) -> CircularSettings:
    if not isinstance(data, dict):
        raise RulesError(f"{origin}: expected a table")
    unknown = sorted(set(data) - _CIRCULAR_KEYS)
    if unknown:
        raise RulesError(
            f"{origin}: unknown key {unknown[0]!r} (known keys: {', '.join(sorted(_CIRCULAR_KEYS))})"
        )
    for key, value in data.items():
        expected = int if key == "min_comments" else str
        if isinstance(value, bool) or not isinstance(value, expected):
            raise RulesError(f"{origin}.{key}: expected {expected.__name__}, got {value!r}")
    return CircularSettings(**data)


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
        environ=MappingProxyType(dict(environ)),
    )
