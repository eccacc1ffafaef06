"""The 腾讯问卷 OpenAPI for one source: an access token, the answer list, one answer.

How the platform behaves (docs/platforms/tencent-wj.md, "Format facts"):

- Every call carries ``appid`` and ``access_token`` in its query. The token comes from
  ``GET /api/oauth2/access_token?appid=…&secret=…&grant_type=client_credential`` and lasts its
  ``expires_in`` (7200 s). Only the newest token works, and fetching tokens too often is refused
  (``request_rate_limited``). So a token is kept for this process in :data:`TOKENS` until shortly
  before it expires, a poll (one :class:`TencentWjApi`) fetches at most one, and a token the
  platform refuses is renewed once: only when it came from the cache, since a token fetched a
  moment ago and refused means another program is fetching tokens with the same app id.
- Answers are listed with ``last_answer_id`` (start at 0, pass back the ``last_answer_id`` of
  each answer, stop at an empty ``list``); one answer is ``GET /api/surveys/{id}/answers/{aid}``.
- Answers are ``{"code": "OK", "data": …}``; a refusal is ``{"code": …, "error": {"type": …}}``.
  How an expired token is refused is not documented: HTTP 401/403, or an error whose code or
  type speaks of the token or of authorisation, are read as one; anything else is named.

Every call is a GET through :class:`connectors.http.HttpClient` (timeouts, retries, Retry-After,
the status of a failed answer); logs name the call, never its query, which holds the token and,
for the token call, the app secret: the shared client cuts queries out of urllib3's log lines.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import ConnectorError, CredentialsError
from connectors.canonical import decode_json
from connectors.http import HttpClient, HttpError, RetryPolicy

BASE = "https://open.wj.qq.com"
TOKEN_PATH = "/api/oauth2/access_token"
# A token is used until this many seconds before the platform says it expires.
EXPIRY_MARGIN = 300.0
PER_PAGE = 50
REFUSED_STATUSES = frozenset({401, 403})


@dataclass(frozen=True)
class _Token:
    value: str
    good_until: float


class TokenCache:
    """Access tokens by (API address, app id, secret digest), shared by the pollers and inbox
    parsers of one process: fetching a token per call would be refused as too frequent, and
    would invalidate the token every other caller holds. Thread-safe (gthread web workers)."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str, str], _Token] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str], now: float) -> str | None:
        with self._lock:
            token = self._tokens.get(key)
        return token.value if token is not None and token.good_until > now else None

    def put(self, key: tuple[str, str, str], value: str, good_until: float) -> None:
        with self._lock:
            self._tokens[key] = _Token(value, good_until)

    def drop(self, key: tuple[str, str, str], value: str) -> None:
        """Forget ``value`` unless another caller has already put a newer token."""
        with self._lock:
            if (found := self._tokens.get(key)) is not None and found.value == value:
                del self._tokens[key]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


TOKENS = TokenCache()


class TokenRefused(ConnectorError):
    """The platform refused an access token (expired, or replaced by a newer one)."""


class NotFound(ConnectorError):
    """HTTP 404 on a data call: the survey or the answer is not there."""


def _error_text(body: Mapping[str, Any]) -> str:
    error = body.get("error")
    kind = error.get("type") if isinstance(error, dict) else error
    return str(kind or body.get("code") or "no code")


def _speaks_of_token(body: Mapping[str, Any]) -> bool:
    text = f"{body.get('code')} {_error_text(body)}".lower()
    return any(word in text for word in ("token", "unauthor", "unauthenticated", "auth_fail"))


class TencentWjApi:
    """Calls for one survey with one app's credentials; ``calls`` counts them by name."""

    def __init__(
        self,
        url: str,
        survey: int,
        appid: str,
        secret: str,
        secret_var: str = "",
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        cache: TokenCache = TOKENS,
    ) -> None:
        self.base = url.rstrip("/")
        self.survey, self.appid = survey, appid
        self._secret, self._secret_var = secret, secret_var
        self.http = HttpClient(policy or RetryPolicy())
        self._clock, self._cache = clock, cache
        digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]
        self._key = (self.base, appid, digest)
        self._fetched = False  # a token was fetched by this instance (one poll, one parse)
        self.calls: Counter[str] = Counter()

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> TencentWjApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the token ------------------------------------------------------------------------------

    def _fetch_token(self) -> str:
        self._fetched = True
        params = {"appid": self.appid, "secret": self._secret, "grant_type": "client_credential"}
        body = self._get(TOKEN_PATH, "access_token", params, token_call=True)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        value, expires = data.get("access_token"), data.get("expires_in", 7200)
        if not isinstance(value, str) or not value:
            raise ConnectorError("access_token: the answer holds no data.access_token")
        try:
            seconds = float(expires)
        except (TypeError, ValueError):
            raise ConnectorError(f"access_token: expires_in {expires!r} is not a number") from None
        self._cache.put(self._key, value, self._clock() + max(0.0, seconds - EXPIRY_MARGIN))
        return value

    # -- calls ----------------------------------------------------------------------------------

    def _get(
        self, path: str, what: str, params: dict[str, Any], token_call: bool = False
    ) -> dict[str, Any]:
        """One call's decoded body when its code is OK; refusals raised by kind."""
        self.calls[what] += 1
        try:
            response = self.http.get(self.base + path, what, params=params)
        except HttpError as exc:
            status = exc.status
            if status in REFUSED_STATUSES:
                if token_call:
                    raise CredentialsError(
                        f"{what}: HTTP {status}: {self._credentials()}"
                    ) from None
                raise TokenRefused(f"{what}: HTTP {status}") from None
            if status == 404 and not token_call:
                raise NotFound(f"{what}: not found (HTTP 404)") from None
            raise
        try:
            body = decode_json(response.content.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            raise ConnectorError(f"{what}: the answer is not JSON") from None
        if not isinstance(body, dict):
            raise ConnectorError(f"{what}: the answer is not a JSON object")
        if str(body.get("code", "")).upper() == "OK":
            return body
        error = _error_text(body)
        if error == "request_rate_limited":
            advice = (
                "access tokens are fetched too often (one is kept for its expires_in)"
                if token_call
                else "calls are too frequent"
            )
            raise ConnectorError(f"{what}: request_rate_limited: {advice}; try again later")
        if error == "invalid_org_subscription":
            raise ConnectorError(
                f"{what}: invalid_org_subscription: the team's plan does not include the API"
            )
        if token_call:
            raise CredentialsError(f"{what}: refused ({error}): {self._credentials()}")
        if _speaks_of_token(body):
            raise TokenRefused(f"{what}: access token refused ({error})")
        raise ConnectorError(f"{what}: refused ({error})")

    def _credentials(self) -> str:
        return f"check app id {self.appid} and the secret in ${self._secret_var or 'its variable'}"

    def call(self, path: str, what: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """A data call with the cached token; a refused token is renewed once (see the module
        docstring), and a second refusal fails the call, naming why."""
        cached = self._cache.get(self._key, self._clock())
        token = cached or self._fetch_token()
        query = {**(params or {}), "appid": self.appid, "access_token": token}
        try:
            return self._get(path, what, query)
        except TokenRefused:
            self._cache.drop(self._key, token)
            if cached is None or self._fetched:
                raise ConnectorError(
                    f"{what}: the platform refused an access token fetched just now; is another "
                    f"program fetching tokens for app id {self.appid}? (only the newest works)"
                ) from None
        query["access_token"] = self._fetch_token()
        try:
            return self._get(path, what, query)
        except TokenRefused as exc:
            raise ConnectorError(f"{exc}, again after renewing it once") from None

    def list_answers(
        self, last_answer_id: int, per_page: int = PER_PAGE
    ) -> tuple[list[Any], int | None, int | None]:
        """One page after ``last_answer_id``: (answers, the platform's next ``last_answer_id``,
        total); the next id is None when the answer does not say one."""
        body = self.call(
            f"/api/surveys/{self.survey}/answers",
            "list_answers",
            {"per_page": per_page, "last_answer_id": last_answer_id},
        )
        data = body.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("list"), list):
            raise ConnectorError("list_answers: the answer holds no data.list")
        return data["list"], _integer(data.get("last_answer_id")), _integer(data.get("total"))

    def get_answer(self, answer_id: int) -> dict[str, Any]:
        """One answer, as the platform holds it now."""
        what = f"get_answer {answer_id}"
        try:
            body = self.call(f"/api/surveys/{self.survey}/answers/{answer_id}", what)
        except NotFound:
            raise ConnectorError(
                f"{what}: survey {self.survey} has no such answer (deleted on the platform?)"
            ) from None
        data = body.get("data")
        if isinstance(data, dict) and isinstance(data.get("answer"), dict):  # a wrapped variant
            data = data["answer"]
        if not isinstance(data, dict) or "answer_id" not in data:
            raise ConnectorError(f"{what}: the answer holds no data.answer_id")
        return data


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
