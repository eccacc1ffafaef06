"""问卷星 OpenAPI answer query (action 1001002), polled to reconcile what pushes missed.

问卷星 stops pushing after ten failures in a row, so a source with an app key is also polled:
``POST <url>/openapi/default.aspx?action=1001002`` with a JSON body of ``appid``, ``ts`` (Unix
seconds, valid 30 s), ``encode`` and ``sign`` = SHA-1 of the values of every other body field,
sorted by field name and concatenated, followed by the app key; plus ``vid``, ``page_index``,
``page_size`` (at most 50), ``sort`` and ``min_index`` (answers whose sequence number is above it).

The cursor is ``{"min_index": n}``, the highest sequence number stored, and while a poll pages
through one ``min_index`` also ``page`` and ``max_seen``: paging within one ``min_index`` is safe
whichever way the platform sorts, and the cursor moves up only after the last page is stored.
With nothing new a poll is one request. Each page is signed afresh; because a signature lives
30 s and a retry re-sends the same one, the client waits at most 15 s in all for retries and 10 s
for an answer (a longer ``Retry-After`` fails the poll, leaving the cursor, and the next poll
starts afresh).

Answers carry ``answer_items`` keyed by question, each ``{q_index, q_row, item_index[],
item_value, answer_text}``; the fields around them are not documented, so a few spellings are
accepted for each (``index``/``answer_index``, ``jid``/``joinid``, ``submit_time``/
``submittime``/``answer_time``) and a record missing one says which were looked for.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from connectors.base import ConnectorError, CredentialsError, Page, SourceSettings
from connectors.canonical import RawRecord
from connectors.http import HttpClient, HttpError, RetryPolicy
from connectors.wenjuanxing.push import stored_map
from connectors.wenjuanxing.records import Cell, answer_record, link_token, record_text
from connectors.wenjuanxing.records import sequence_id as seq
from connectors.wenjuanxing.survey import SurveyMap

DEFAULT_URL = "https://www.wjx.cn"
PAGE_SIZE = 50  # the most the API gives per page
# A signature lives 30 s and a retry re-sends the same one: keep the whole exchange near that.
POLICY = RetryPolicy(read_timeout=10.0, attempts=3, max_total_wait=15.0)
INDEX = ("index", "answer_index")
JOINID = ("jid", "joinid")
TIME = ("submit_time", "submittime", "answer_time")


def api_sign(body: Mapping[str, Any], app_key: str) -> str:
    """SHA-1 of the body's values sorted by field name, then the app key (``sign`` left out)."""
    values = "".join(str(body[k]) for k in sorted(body) if k != "sign")
    return hashlib.sha1((values + app_key).encode("utf-8")).hexdigest()


class AnswerPoller:
    """One source's polls; ``calls`` counts requests by action."""

    def __init__(
        self,
        settings: SourceSettings,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        http: HttpClient | None = None,
    ) -> None:
        self.config = settings.config
        self.name = settings.name
        self.enabled = bool(settings.config.get("app_key_env"))
        self.app_key = settings.secret("appkey") if self.enabled else ""
        self.hint = (
            f"app id {settings.config.get('app_id')}, key in ${settings.secret_vars.get('appkey')}"
        )
        self.survey: SurveyMap = stored_map(settings)
        self.url = str(settings.config.get("url") or DEFAULT_URL).rstrip("/")
        self.http = http or HttpClient(policy or POLICY)
        self.clock = clock
        self._calls: dict[str, int] = {}

    @property
    def calls(self) -> Mapping[str, int]:
        return dict(self._calls)

    def close(self) -> None:
        self.http.close()

    def poll(self, cursor: Any, full: bool = False) -> Page:
        """One page after the cursor (see the module docstring)."""
        if not self.enabled:
            return Page([], cursor, True, ["push only: no app key, nothing to poll"])
        state = dict(cursor) if isinstance(cursor, dict) else {}
        if full:
            state = {}
        base = int(state.get("min_index") or 0)
        page = int(state.get("page") or 1)
        answers = self._fetch(base, page)
        records = [self._record(a, n) for n, a in enumerate(answers, start=1)]
        seen = [int(i) for a in answers if (i := seq(_first(a, INDEX)[1])) is not None]
        max_seen = max([int(state.get("max_seen") or base), *seen])
        if len(answers) >= PAGE_SIZE:
            return Page(records, {"min_index": base, "page": page + 1, "max_seen": max_seen}, False)
        return Page(records, {"min_index": max_seen}, True)

    def _fetch(self, min_index: int, page: int) -> list[dict[str, Any]]:
        body: dict[str, Any] = {
            "appid": self.config.get("app_id") or "",
            "ts": int(self.clock()),
            "encode": "SHA1",
            "vid": int(self.config["activity"]),
            "page_index": page,
            "page_size": PAGE_SIZE,
            "sort": 0,
            "min_index": min_index,
        }
        body["sign"] = api_sign(body, self.app_key)
        what = "问卷星 OpenAPI 1001002"
        self._calls["1001002"] = self._calls.get("1001002", 0) + 1
        try:
            response = self.http.post(
                f"{self.url}/openapi/default.aspx?action=1001002", what, json=body
            )
        except HttpError as exc:
            if exc.status in (401, 403):
                raise CredentialsError(f"{exc} ({self.hint})") from None
            raise
        try:
            answer = response.json()
        except ValueError:
            raise ConnectorError(f"{what}: the answer is not JSON") from None
        if not isinstance(answer, dict) or answer.get("result") is False:
            message = (
                answer.get("errormsg") or answer.get("msg") if isinstance(answer, dict) else ""
            )
            raise ConnectorError(f"{what} refused: {message or 'no reason given'} ({self.hint})")
        data = answer.get("data")
        found = data.get("answers") if isinstance(data, dict) else None
        if isinstance(found, dict):
            found = list(found.values())
        if not isinstance(found, list):
            raise ConnectorError(
                f"{what}: no data.answers in the answer (keys: {', '.join(answer)})"
            )
        return [a for a in found if isinstance(a, dict)]

    def _record(self, answer: dict[str, Any], n: int) -> RawRecord:
        index = _first(answer, INDEX)[1]
        rid = seq(index)
        where = f"{self.name} OpenAPI answer {rid or f'#{n}'}"
        text = record_text(answer)
        missing = [
            f"no {'/'.join(names)}" for names in (INDEX, TIME) if _first(answer, names)[0] is None
        ]
        if missing:
            return RawRecord(where, text, error=f"{where}: " + "; ".join(missing), response_id=rid)
        return answer_record(
            where,
            text,
            rid,
            link_token(answer.get("sojumpparm")),
            _first(answer, TIME)[1],
            _cells(answer.get("answer_items")),
            self.survey,
        )


def _first(answer: Mapping[str, Any], names: tuple[str, ...]) -> tuple[str | None, Any]:
    for name in names:
        if answer.get(name) not in (None, ""):
            return name, answer[name]
    return None, None


def _cells(items: Any) -> list[Cell]:
    """``answer_items`` as cells keyed like a push: ``q5_1`` for row 1 of question 5."""
    if isinstance(items, dict):
        items = list(items.values())
    cells = []
    for item in items if isinstance(items, list) else []:
        number = seq(item.get("q_index")) if isinstance(item, dict) else None
        if number is None:
            continue
        question = f"q{number}"
        row = seq(item.get("q_row"))
        key = f"{question}_{row}" if row and row != "0" else question
        chosen = item.get("item_index")
        if isinstance(chosen, list) and chosen:
            value: Any = ",".join(str(seq(c) or c) for c in chosen)
        else:
            value = item.get("item_value") or item.get("answer_text") or ""
        cells.append(Cell(question, key, None, key, value))
    return cells


def open_poller(settings: SourceSettings, **options: Any) -> AnswerPoller:
    return AnswerPoller(settings, **options)


def describe_cursor(cursor: Any) -> str:
    if not isinstance(cursor, dict):
        return "nothing polled yet"
    paging = f", paging (page {cursor['page']})" if cursor.get("page") else ""
    return f"answers up to sequence number {cursor.get('min_index') or 0}{paging}"
