"""The 金数据 v1 API as one source reads it: the form's schema, pages of entries, one entry.

Every call is an HTTP GET with Basic auth (API key : API secret) through the shared client of
:mod:`connectors.http`, so timeouts, retries with backoff and ``Retry-After`` are the same as
every platform's (every call here is a read, so any retry is safe).

金数据 answers a 429 with "the plan, the requests left and when the limit resets", but the exact
header is not documented. :func:`rate_limit_wait`, handed to the shared client as the platform's
reading of a rate-limited answer, looks at the usual spellings (``X-RateLimit-Reset``,
``RateLimit-Reset``, ``X-Rate-Limit-Reset``: seconds to wait, a Unix time in seconds or
milliseconds, or a date) and the JSON body's ``reset_at`` / ``reset``; the client waits that long
(a ``Retry-After`` comes first) and refuses to wait past its total limit, leaving the cursor
where it was.

Logs and errors name the call (``entries``, ``entry``, ``form``), never the URL's query, a
credential or a body.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests

from connectors.base import ConnectorError, CredentialsError
from connectors.canonical import decode_json
from connectors.http import HttpClient, HttpError, RetryPolicy

DEFAULT_URL = "https://jinshuju.net"
RESET_HEADERS = ("x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset")
RESET_FIELDS = ("reset_at", "reset", "reset_time", "retry_after")


class EntryNotFound(ConnectorError):
    """The API has no entry of that serial number in the form (HTTP 404)."""


def reset_seconds(value: Any, now: float | None = None) -> float | None:
    """Seconds until a rate limit resets, from any of the forms a reset is written in: seconds
    to wait (small numbers), a Unix time in seconds or milliseconds, an ISO 8601 or HTTP date.
    None when it cannot be read (the shared client then backs off on its own)."""
    now = time.time() if now is None else now
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number) or number < 0:
            return None
        if number > 1e12:  # a Unix time in milliseconds
            return max(0.0, number / 1000 - now)
        if number > 1e9:  # a Unix time in seconds
            return max(0.0, number - now)
        return number
    when: datetime | None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if when.tzinfo is None:  # 金数据 writes its own times in UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def rate_limit_wait(response: requests.Response) -> float | None:
    """Seconds until 金数据's limit resets, read from a rate-limited answer's headers or body
    (see the module docstring); None when it says nothing readable. Whole seconds, rounded up,
    so the retry does not arrive a moment before the reset."""
    wait = None
    for name in RESET_HEADERS:
        wait = reset_seconds(response.headers.get(name))
        if wait is not None:
            break
    if wait is None:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            for name in RESET_FIELDS:
                wait = reset_seconds(body.get(name))
                if wait is not None:
                    break
    return None if wait is None else float(max(0, math.ceil(wait)))


class JinshujuApi:
    """One form on one 金数据 site, read with one key pair; ``calls`` counts requests by name."""

    def __init__(
        self,
        url: str,
        form: str,
        key: str,
        secret: str,
        policy: RetryPolicy | None = None,
        hint: str = "",
    ) -> None:
        self.base = url.rstrip("/")
        self.form = form
        self.session = requests.Session()
        self.session.auth = (key, secret)
        self.session.headers.update({"Accept": "application/json"})
        self.http = HttpClient(
            policy or RetryPolicy(read_timeout=30.0),
            session=self.session,
            rate_limit_wait=rate_limit_wait,
        )
        self.hint = hint  # which variables hold the key pair, for a refusal's message
        self.calls: Counter[str] = Counter()

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, what: str, params: Mapping[str, Any] | None = None) -> Any:
        self.calls[what] += 1
        label = f"金数据 {what} (form {self.form})"
        try:
            response = self.http.get(f"{self.base}{path}", label, params=params)
        except HttpError as exc:
            status = exc.status
            if status in (401, 403):
                raise CredentialsError(
                    f"{label}: 金数据 refused the API key and secret (HTTP {status}){self.hint}"
                ) from None
            if status == 404 and what == "entry":
                raise EntryNotFound(str(exc)) from None
            if status == 404:
                raise ConnectorError(
                    f"{label}: HTTP 404: no such form, or the key's account did not create it"
                ) from None
            raise
        try:
            return decode_json(response.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ConnectorError(f"{label}: the answer is not JSON") from None

    def form_schema(self) -> dict[str, Any]:
        """``GET /api/v1/forms/{form}``: the form's title, fields and settings."""
        data = self._get(f"/api/v1/forms/{quote(self.form, safe='')}", "form")
        if not isinstance(data, dict) or "fields" not in data:
            raise ConnectorError(f"金数据 form {self.form}: the form's schema has no fields")
        return data

    def entries(self, next_: Any = None) -> dict[str, Any]:
        """One page of ``GET …/entries`` from the page mark ``next_`` (None: the first page)."""
        params = None if next_ in (None, "") else {"next": str(next_)}
        data = self._get(f"/api/v1/forms/{quote(self.form, safe='')}/entries", "entries", params)
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise ConnectorError(f"金数据 form {self.form}: a page of entries has no data list")
        return data

    def entry(self, serial: int) -> dict[str, Any]:
        """``GET …/entries/{serial}``: the entry itself (EntryNotFound when there is none)."""
        data = self._get(f"/api/v1/forms/{quote(self.form, safe='')}/entries/{serial}", "entry")
        entry = data.get("entry") if isinstance(data, dict) else None
        if not isinstance(entry, dict):
            raise ConnectorError(f"金数据 form {self.form}: entry {serial} came without an entry")
        return entry
