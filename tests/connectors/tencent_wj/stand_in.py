"""A local stand-in for the 腾讯问卷 OpenAPI over real HTTP, built from its documented formats.

It answers the way the platform's documentation says it does: ``GET /api/oauth2/access_token``
gives ``{"code": "OK", "data": {"access_token", "expires_in"}}``; only the newest token is
valid; fetching tokens more than ``token_limit`` times in a minute is refused with
``request_rate_limited``. The answer list takes ``per_page`` and ``last_answer_id`` and returns
``{total, last_answer_id, list}`` with the answers after that id (an empty ``list`` at the end);
one answer is ``GET /api/surveys/{id}/answers/{answer_id}``. How the platform refuses a stale
token is not documented; the stand-in does it either in the body (``refusal="body"``:
``{"code": "ERROR", "error": {"type": "invalid_access_token"}}``) or with HTTP 401.

Faults are queued per call name (``access_token``, ``list_answers``, ``get_answer``): an HTTP
status with headers, or a slow answer. Calls are logged by name only (the token call's query
holds the app secret).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.harness.stand_in import JsonSite

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tencent_wj"
SURVEY = 5356056
APPID = "wj-app-7f3e"
SECRET = "wj-secret-Qx81-never-shown"
MATRIX = "q-1-MtRx"
SCALE = ("满意", "基本满意", "不满意", "不了解")


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def make_answer(
    answer_id: int,
    token: str | None,
    ended_at: str,
    rows: dict[str, str],
    comments: dict[str, str] | None = None,
    token_field: str = "openid",
) -> dict[str, Any]:
    """An answer as the platform lists it: one page, one matrix question whose rows are
    ``rows`` (title -> the chosen option's text, every scale option listed with ``checked``)."""
    groups = []
    for n, (title, chosen) in enumerate(rows.items(), start=1):
        options = [
            {"id": f"o-{i}-{i:04d}", "text": text, "checked": int(text == chosen)}
            for i, text in enumerate(dict.fromkeys((*SCALE, chosen)), start=1)
        ]
        groups.append({"id": f"r-{n}-{n:04d}", "text": title, "options": options})
    questions: list[dict[str, Any]] = [{"id": MATRIX, "type": "matrix_radio", "groups": groups}]
    for qid, text in (comments or {}).items():
        questions.append({"id": qid, "type": "text", "text": text})
    answer: dict[str, Any] = {
        "answer_id": answer_id,
        "qq": 0,
        "openid": token if token_field == "openid" else "",
        "started_at": ended_at,
        "ended_at": ended_at,
        "score": None,
        "answer": [{"id": "p-1-AbCd", "questions": questions}],
    }
    if token_field == "third_party_user":
        answer["third_party_user"] = {"respondent_id": 0, "openid": token, "nickname": ""}
    return answer


def event(action: str, answer_id: Any, survey: int = SURVEY, **extra: Any) -> bytes:
    """A webhook body in the documented envelope (the sample's), for one answer."""
    body = load_fixture("tencent-wj-webhook.trimmed.json")
    body["id"] = extra.pop("id", str(uuid.uuid4()))
    body["action"] = action
    body["payload"].update(survey_id=survey, answer_id=answer_id, **extra)
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class StandIn(JsonSite):
    """One team's API with one survey; use as a context manager."""

    def __init__(
        self,
        answers: list[dict[str, Any]] | None = None,
        survey: int = SURVEY,
        refusal: str = "body",
        token_limit: int = 20,
    ) -> None:
        self.survey, self.refusal, self.token_limit = survey, refusal, token_limit
        self.answers = answers if answers is not None else []
        self.subscribed = True  # the team's plan includes the API
        self.token: str | None = None  # the newest, the only valid one
        self.token_times: deque[float] = deque()
        self.calls: list[str] = []
        self.faults: dict[str, list[tuple[str, Any]]] = {}
        self.lock = threading.Lock()

    def answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """腾讯问卷's API is read with GET only."""
        if method != "GET":
            return 405, {}, {"code": "method_not_allowed"}
        return self.handle(path)

    # -- test controls --------------------------------------------------------------------------

    def fail(self, call: str, kind: str, value: Any = None) -> None:
        """Queue a fault for the next ``call``: ("http", (status, headers)) or ("slow", s)."""
        self.faults.setdefault(call, []).append((kind, value))

    def expire_token(self) -> None:
        """The token's time is up (or someone else fetched a newer one)."""
        self.token = uuid.uuid4().hex

    def count(self, call: str) -> int:
        return self.calls.count(call)

    # -- the API --------------------------------------------------------------------------------

    def handle(self, path: str) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        route, args = self._route(parts.path)
        with self.lock:
            self.calls.append(route)
            fault = self.faults[route].pop(0) if self.faults.get(route) else None
        if fault and fault[0] == "http":
            status, headers = fault[1]
            return status, headers, {"code": "ERROR", "error": {"type": "stand-in fault"}}
        if fault and fault[0] == "slow":
            time.sleep(fault[1])
        if route == "access_token":
            return self._access_token(query)
        if route == "unknown":
            return 404, {}, {"code": "ERROR", "error": {"type": "not_found"}}
        if query.get("appid") != APPID or query.get("access_token") != self.token:
            if self.refusal == "http":
                return 401, {}, {"code": "ERROR", "error": {"type": "unauthorized"}}
            return 200, {}, {"code": "ERROR", "error": {"type": "invalid_access_token"}}
        if int(args[0]) != self.survey:
            return 200, {}, {"code": "ERROR", "error": {"type": "survey_not_found"}}
        with self.lock:
            answers = sorted(self.answers, key=lambda a: a["answer_id"])
        if route == "list_answers":
            after = int(query.get("last_answer_id", 0))
            page = [a for a in answers if a["answer_id"] > after][: int(query["per_page"])]
            last = page[-1]["answer_id"] if page else after
            data = {"total": len(answers), "last_answer_id": last, "list": page}
            return 200, {}, {"code": "OK", "error": {"type": ""}, "data": data}
        found = next((a for a in answers if a["answer_id"] == int(args[1])), None)
        if found is None:
            return 404, {}, {"code": "ERROR", "error": {"type": "answer_not_found"}}
        data = {"survey_id": self.survey, "respondent_id": 0, **found}
        return 200, {}, {"code": "OK", "error": {"type": ""}, "data": data}

    @staticmethod
    def _route(path: str) -> tuple[str, tuple[str, ...]]:
        if path == "/api/oauth2/access_token":
            return "access_token", ()
        if m := re.fullmatch(r"/api/surveys/(\d+)/answers", path):
            return "list_answers", m.groups()
        if m := re.fullmatch(r"/api/surveys/(\d+)/answers/(\d+)", path):
            return "get_answer", m.groups()
        return "unknown", ()

    def _access_token(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if query.get("grant_type") != "client_credential":
            return 200, {}, {"code": "ERROR", "error": {"type": "invalid_grant_type"}}
        if (query.get("appid"), query.get("secret")) != (APPID, SECRET):
            return 200, {}, {"code": "ERROR", "error": {"type": "invalid_appid_or_secret"}}
        if not self.subscribed:
            return 200, {}, {"code": "ERROR", "error": {"type": "invalid_org_subscription"}}
        now = time.monotonic()
        with self.lock:
            while self.token_times and now - self.token_times[0] > 60:
                self.token_times.popleft()
            if len(self.token_times) >= self.token_limit:
                return 200, {}, {"code": "ERROR", "error": {"type": "request_rate_limited"}}
            self.token_times.append(now)
            self.token = uuid.uuid4().hex
            data = {"access_token": self.token, "expires_in": 7200}
        return 200, {}, {"code": "OK", "error": {"type": ""}, "data": data, "request_id": "r"}
