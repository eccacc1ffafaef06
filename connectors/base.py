"""The connector contract: what every survey platform's module promises the rest of pingyi.

A connector turns one platform's data into :class:`~connectors.canonical.RawRecord` objects
(canonical ballots, or records kept verbatim with the reason they are not ballots). Nothing
outside ``connectors/`` knows a platform's format, and a connector knows nothing of the store:
its configuration, its secrets and its mapping are handed in, and what it returns is plain data.

Two ways in, and a connector offers one or both:

``verify_webhook(headers, body) -> bool``
    Is this delivery authentic? Checked on the raw body bytes, before anything is parsed, with
    the platform's own signature where it has one (Standard Webhooks: HMAC over
    ``id.timestamp.body`` with a 5-minute window). A platform that cannot sign is verified by a
    per-source secret in the URL, and its ballots are trusted only after being read again through
    the platform's API (SPEC §4).
``parse_webhook(headers, body) -> list[RawRecord]``
    The delivery as records; an event the source ignores gives an empty list (answered 200, so
    the sender stops retrying).
``poll(cursor) -> Page``
    The next page of records after ``cursor``, an opaque JSON value the connector alone reads
    (Singer-style state). The caller stores the records and the page's cursor *in one
    transaction*, so a page that fails to store leaves the cursor where it was and the next poll
    asks for the same records again. Delivery is therefore at least once; the store is
    idempotent on (source, platform response id), which makes the effect exactly once.

Each connector class also declares:

- ``kind``: the name a source gives (``--kind limesurvey``);
- ``config_schema``: a marshmallow schema of its stored configuration. ``secrets`` maps each
  secret the connector needs to the config field that *names the environment variable* holding
  it; the secret itself is never stored, printed or logged, and is passed in by the caller;
- ``in_order``: whether a poll returns records in the platform's submission order. When it does
  not (LimeSurvey completes an old response under its old id), the cursor must remember more than
  a high-water mark, and nothing downstream may assume the last record is the newest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from marshmallow import Schema

from connectors.canonical import RawRecord


class ConnectorError(Exception):
    """The platform could not be read or written; the message says what and where, never a
    secret, a token or a payload."""


class CredentialsError(ConnectorError):
    """The platform refused the source's credentials; never retried, since repeated refusals
    lock an account out on most platforms."""


class ConfigError(ConnectorError):
    """A source's configuration or mapping cannot work with this survey; refused when the
    source is added, naming the question, code or setting at fault."""


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


class PollingConnector(Protocol):
    """The shape of a connector that a source polls (see the module docstring)."""

    kind: ClassVar[str]
    in_order: ClassVar[bool]
    config_schema: ClassVar[type[Schema]]
    secrets: ClassVar[Mapping[str, str]]

    def poll(self, cursor: Any, full: bool = False) -> Page: ...

    def platform_token(self, seat_token: str) -> str: ...

    def close(self) -> None: ...


def no_webhooks(kind: str) -> str:
    """The message for a platform that has no webhook in its core (LimeSurvey)."""
    return (
        f"{kind} has no webhooks in its core: its responses are polled "
        "(a community plugin exists, but it signs nothing and never retries)"
    )
