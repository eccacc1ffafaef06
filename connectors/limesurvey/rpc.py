"""LimeSurvey RemoteControl 2 over JSON-RPC, with plain ``requests`` (see connectors/http.py).

Facts this client is built on (docs/connectors.md, "LimeSurvey"; recorded on LimeSurvey 6.4.2):

- every answer is HTTP 200 with ``{"id", "result", "error"}``; an application error is a
  *result* ``{"status": "..."}`` with ``error: null``, so each call checks for it and raises an
  error naming the call. ``{"status": "OK"}`` is a success;
- a session key expires (``iSessionExpirationTime``); an expired or unknown key comes back as
  ``Invalid session key`` — spelt with varying case and spacing across methods in the PHP source —
  and the call is then made once more with a fresh key;
- three bad logins lock the account out of RPC too (``maxLoginAttempt``), so a refused login is
  never retried;
- exports are base64 strings.

The password is sent in ``get_session_key`` and nowhere else, never logged, never put in an
error message; only method names and counts are logged.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections import Counter
from typing import Any

from connectors.base import ConnectorError, CredentialsError
from connectors.http import HttpClient

logger = logging.getLogger(__name__)


class RpcError(ConnectorError):
    """LimeSurvey refused a call; ``status`` is its own words (e.g. ``No permission``)."""

    def __init__(self, method: str, status: str) -> None:
        super().__init__(f"LimeSurvey {method}: {status}")
        self.method = method
        self.status = status


class LoginRefused(RpcError, CredentialsError):
    """``get_session_key`` answered with a status: wrong user name or password, or locked out."""


def _is_invalid_key(status: str) -> bool:
    return "".join(status.lower().split()) == "invalidsessionkey"


class RemoteControl:
    """A RemoteControl 2 client holding one session key for its lifetime.

    Use it as a context manager (or call :meth:`close`): the key is released when done, so keys
    do not pile up in the server's session table. ``calls`` counts the calls made by method.
    """

    def __init__(
        self, url: str, username: str, password: str, http: HttpClient, plugin: str | None = None
    ) -> None:
        self.url = url
        self._username = username
        self._password = password
        self._plugin = plugin
        self._http = http
        self._key: str | None = None
        self._next_id = 0
        self.calls: Counter[str] = Counter()

    def __enter__(self) -> RemoteControl:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _send(
        self, method: str, params: list[Any], idempotent: bool = True, courtesy: bool = False
    ) -> Any:
        """One JSON-RPC exchange; returns ``result`` (which may be a status object)."""
        self._next_id += 1
        self.calls[method] += 1
        body = json.dumps({"method": method, "params": params, "id": self._next_id})
        response = self._http.post(
            self.url,
            what=f"LimeSurvey {method}",
            idempotent=idempotent,
            courtesy=courtesy,
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            envelope = response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise ConnectorError(
                f"LimeSurvey {method}: the answer from {self.url} is not JSON-RPC "
                f"(HTTP {response.status_code}, {kind}); is RemoteControl set to JSON-RPC in "
                "Global settings > Interfaces, and is the URL …/index.php/admin/remotecontrol?"
            ) from None
        if not isinstance(envelope, dict) or "result" not in envelope:
            raise ConnectorError(f"LimeSurvey {method}: not a JSON-RPC answer")
        if envelope.get("error"):
            raise RpcError(method, str(envelope["error"]))
        return envelope["result"]

    def _login(self) -> str:
        params: list[Any] = [self._username, self._password]
        if self._plugin:
            params.append(self._plugin)
        result = self._send("get_session_key", params)
        if isinstance(result, dict):
            # Never retried: three refusals lock the account out (maxLoginAttempt).
            raise LoginRefused("get_session_key", str(result.get("status", result)))
        if not isinstance(result, str) or not result:
            raise RpcError("get_session_key", "no session key in the answer")
        logger.info("LimeSurvey session opened at %s", self.url)
        return result

    def call(self, method: str, *params: Any, idempotent: bool = True) -> Any:
        """Call ``method`` with the session key first; raise :class:`RpcError` on a status.

        An ``Invalid session key`` answer renews the key and repeats the call once.
        """
        for attempt in (1, 2):
            if self._key is None:
                self._key = self._login()
            result = self._send(method, [self._key, *params], idempotent=idempotent)
            status = _status(result)
            if status is None:
                return result
            if _is_invalid_key(status) and attempt == 1:
                logger.info("LimeSurvey session key expired; renewing it for %s", method)
                self._key = None
                continue
            raise RpcError(method, status)
        raise AssertionError("unreachable")  # pragma: no cover

    def export(self, method: str, *params: Any) -> dict[str, Any]:
        """Call an export method and decode its base64 JSON document."""
        result = self.call(method, *params)
        if not isinstance(result, str):
            raise RpcError(method, f"expected a base64 document, got {type(result).__name__}")
        try:
            raw = base64.b64decode(result, validate=False)
            data = json.loads(raw.decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise RpcError(method, f"the export is not base64 JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("responses"), list):
            raise RpcError(method, 'the export has no "responses" list')
        return data

    def close(self) -> None:
        """Release the session key (best effort: a failure to release loses nothing)."""
        if self._key is None:
            return
        key, self._key = self._key, None
        try:
            self._send("release_session_key", [key], courtesy=True)
        except ConnectorError as exc:
            logger.warning("LimeSurvey release_session_key failed: %s", exc)


def _status(result: Any) -> str | None:
    """The error status of a result, or None when the result is data (or ``status: OK``)."""
    if isinstance(result, dict) and "status" in result:
        status = result["status"]
        if isinstance(status, str) and status.strip().upper() == "OK":
            return None
        return status if isinstance(status, str) else json.dumps(status, ensure_ascii=False)
    return None
