"""A local stand-in of 金数据's v1 API over real HTTP, built from the documented formats.

It serves one form: its schema (``GET /api/v1/forms/{form}``), its entries in pages
(``GET …/entries[?next=N]`` → ``{total, count, data, next}``, sorted by serial number, any page
size, ``next`` being the serial number the following page starts at) and one entry by serial
number (``GET …/entries/{serial}`` → ``{form, form_name, entry}``, 404 when there is none). It
checks HTTP Basic auth (401 on a wrong key pair). Faults are queued per route (``form``,
``entries``, ``entry``): an HTTP status with headers and a body (429 with a reset, 5xx), or a
slow answer (a read timeout for the client). Every request is logged by route and page mark,
never with its credentials.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.harness.stand_in import JsonSite

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "jinshuju"
FORM = "Xk7Pq2"
KEY, SECRET = "jsk-4f1e-key", "jss-9Zr!secret-never-shown"
SCHEMA = json.loads((FIXTURES / "form-schema.json").read_text(encoding="utf-8"))


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def matrix_field(schema: dict[str, Any] = SCHEMA, code: str = "field_1") -> dict[str, Any]:
    return next(f[code] for f in schema["fields"] if code in f)


def make_entry(
    serial: int,
    token: str | None,
    rows: dict[str, str],
    *,
    at: str = "2026-11-20T02:00:00.000Z",
    codes: bool = False,
    shape: str = "list",
    **extra: Any,
) -> dict[str, Any]:
    """An entry as the v1 API reads it: the 矩阵单选 ``field_1`` from row title -> column text,
    as texts (documented), or as API codes (``codes``), as a list of statement/choice objects
    (documented) or as an object row -> column (``shape="dict"``, the write format)."""
    spec = matrix_field()
    row_code = {s["name"]: s["value"] for s in spec["statements"]}
    col_code = {c["name"]: c["value"] for c in spec["choices"]}
    pairs = [
        (row_code.get(r, r) if codes else r, col_code.get(c, c) if codes else c)
        for r, c in rows.items()
    ]
    matrix: Any = (
        {r: c for r, c in pairs}
        if shape == "dict"
        else [{"statement": r, "choice": c} for r, c in pairs]
    )
    entry = {"serial_number": serial, "field_1": matrix, "field_3": "", **extra}
    if token is not None:
        entry["x_field_1"] = token
    entry.update(
        {
            "creator_name": "",
            "created_at": at,
            "updated_at": at,
            "info_filling_duration": 41,
            "info_platform": "Android",
        }
    )
    return entry


class StandIn(JsonSite):
    """One form on a stand-in 金数据; use as a context manager (``url`` while it runs)."""

    def __init__(
        self,
        entries: list[dict[str, Any]] | None = None,
        schema: dict[str, Any] | None = None,
        page_size: int = 50,
        next_at_end: bool = False,
    ) -> None:
        self.schema = schema or SCHEMA
        self.entries = list(entries or [])
        self.page_size = page_size
        self.next_at_end = next_at_end  # the last page also names the serial after it
        self.calls: list[tuple[str, str | None]] = []
        self.faults: dict[str, list[tuple[str, Any]]] = {}
        self.lock = threading.Lock()

    def answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """金数据's API is read with GET only."""
        if method != "GET":
            return 405, {}, {"error": "method"}
        return self.handle(path, headers.get("Authorization"))

    def fail(self, route: str, kind: str, value: Any = None, times: int = 1) -> None:
        """Queue ``times`` faults on a route: ``("status", (code, headers, body))``,
        ``("slow", seconds)``, or ``("ok", None)`` (this request answers normally)."""
        with self.lock:
            self.faults.setdefault(route, []).extend([(kind, value)] * times)

    def count(self, route: str) -> int:
        return sum(1 for r, _ in self.calls if r == route)

    # -- answering ------------------------------------------------------------------------------

    def handle(self, path: str, auth: str | None) -> tuple[int, dict[str, str], Any]:
        parsed = urlparse(path)
        parts = parsed.path.strip("/").split("/")
        query = parse_qs(parsed.query)
        if parts[:3] != ["api", "v1", "forms"] or len(parts) < 4:
            return 404, {}, {"error": "not found"}
        route = {4: "form", 5: "entries", 6: "entry"}.get(len(parts), "?")
        mark = (query.get("next") or [None])[0] if route == "entries" else None
        with self.lock:
            self.calls.append((route, mark))
            fault = self.faults[route].pop(0) if self.faults.get(route) else None
        if fault is not None and fault[0] == "slow":
            time.sleep(fault[1])
        elif fault is not None and fault[0] != "ok":
            return fault[1]
        expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        if auth != expected:
            return 401, {}, {"error": "unauthorized", "error_description": "API Key 或 Secret 错误"}
        if parts[3] != FORM:
            return 404, {}, {"error": "not found", "error_description": "表单不存在"}
        if route == "form":
            return 200, {}, self.schema
        if route == "entries" and parts[4] == "entries":
            return 200, {}, self.page(mark)
        if route == "entry" and parts[4] == "entries":
            return self.one(parts[5])
        return 404, {}, {"error": "not found"}

    def page(self, mark: str | None) -> dict[str, Any]:
        with self.lock:
            ordered = sorted(self.entries, key=lambda e: int(e["serial_number"]))
        start = int(mark) if mark else 0
        rest = [e for e in ordered if int(e["serial_number"]) >= start]
        data, after = rest[: self.page_size], rest[self.page_size :]
        if after:
            following: int | None = int(after[0]["serial_number"])
        elif self.next_at_end and data:
            following = int(data[-1]["serial_number"]) + 1
        else:
            following = None
        return {"total": len(ordered), "count": len(data), "data": data, "next": following}

    def one(self, serial: str) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            found = [e for e in self.entries if str(e["serial_number"]) == serial]
        if not found:
            return 404, {}, {"error": "not found", "error_description": "数据不存在"}
        name = self.schema.get("name", "")
        return 200, {}, {"form": FORM, "form_name": name, "entry": found[0]}
