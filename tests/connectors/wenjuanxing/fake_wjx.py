"""A stand-in for 问卷星's OpenAPI answer query (action 1001002) over real HTTP.

Built from the documented format: ``POST /openapi/default.aspx?action=1001002`` with a JSON body
signed as ``sha1(values sorted by field name + app key)``, ``ts`` valid 30 s, ``page_size`` at
most 50, ``min_index`` as the cursor, answers under ``data.answers`` with ``answer_items`` of
``{q_index, q_row, item_index[], item_value, answer_text}``. Refusals come back as
``{"result": false, "errormsg": …}``. Faults are queued per request: an HTTP status with headers,
or a slow answer. Every request is logged (without its sign).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.harness.stand_in import JsonSite

APP_ID = "wjx-app-1"
APP_KEY = "wjx-app-key-S3cr3t-never-shown"


def answer(index: int, token: str, positions: list[int], when: str) -> dict[str, Any]:
    """One answer as the API lists it: matrix q2's rows by position (1-based)."""
    items = {
        str(2 * 10000 + row): {
            "q_index": 2, "q_row": row, "item_index": [p], "item_value": "", "answer_text": "",
        }
        for row, p in enumerate(positions, start=1) if p
    }  # fmt: skip
    return {
        "index": index, "jid": 101812480000 + index, "submit_time": when,
        "sojumpparm": token, "answer_items": items,
    }  # fmt: skip


class FakeWjx(JsonSite):
    """One 问卷星 account with one survey; use as a context manager."""

    def __init__(self, vid: int, answers: list[dict[str, Any]] | None = None) -> None:
        self.vid = vid
        self.answers = list(answers or [])
        self.requests: list[dict[str, Any]] = []
        self.faults: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    def answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """The OpenAPI takes POSTs only."""
        if method != "POST":
            return 405, {}, {"result": False, "errormsg": "method"}
        return self.handle(path, body)

    def fail(self, kind: str, value: Any) -> None:
        """Queue a fault for the next request: ("http", (status, headers)) or ("slow", s)."""
        self.faults.append((kind, value))

    def handle(self, path: str, raw: bytes) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            fault = self.faults.pop(0) if self.faults else None
            body = json.loads(raw)
            self.requests.append({k: v for k, v in body.items() if k != "sign"})
        if fault and fault[0] == "http":
            status, headers = fault[1]
            return status, headers, {"result": False, "errormsg": "busy"}
        if fault and fault[0] == "slow":
            time.sleep(fault[1])
        refused = self.refusal(path, body)
        if refused:
            return 200, {}, {"result": False, "errormsg": refused}
        after = [a for a in self.answers if a["index"] > int(body.get("min_index") or 0)]
        after.sort(key=lambda a: a["index"])
        size, page = int(body["page_size"]), int(body["page_index"])
        chosen = after[(page - 1) * size : page * size]
        return 200, {}, {"result": True, "data": {"total_count": len(after), "answers": chosen}}

    def refusal(self, path: str, body: dict[str, Any]) -> str | None:
        """What the platform says to a request it will not answer, if anything."""
        if parse_qs(urlparse(path).query).get("action") != ["1001002"]:
            return "unknown action"
        if body.get("appid") != APP_ID:
            return "appid 不存在"
        if abs(time.time() - int(body.get("ts") or 0)) > 30:
            return "ts 已过期"
        values = "".join(str(body[k]) for k in sorted(body) if k != "sign")
        if body.get("sign") != hashlib.sha1((values + APP_KEY).encode()).hexdigest():
            return "签名错误"
        if int(body.get("vid") or 0) != self.vid:
            return "问卷不存在"
        if not 1 <= int(body.get("page_size") or 0) <= 50:
            return "page_size 超出范围"
        return None
