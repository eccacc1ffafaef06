"""A fake LimeSurvey RemoteControl 2 endpoint over real HTTP, fed from recorded samples.

It answers the way LimeSurvey 6.4.2 was recorded answering (docs/connectors.md, "LimeSurvey"):
HTTP 200 JSON-RPC envelopes, errors as ``{"status": ...}`` results, base64 JSON exports keyed by
``code`` headings with ``""`` for NULL, inclusive id ranges, ``No Data, could not get max id.`` for
an empty survey, participants paged with ``No survey participants found.`` when empty, access
codes sanitised to ``[0-9A-Za-z_~]`` and refused above 36 characters. Failures are injected per
method (HTTP status with headers, a status result, a slow answer), and every call is logged
by method name (never with its parameters, which include the password).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.harness.stand_in import JsonSite

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "limesurvey"
SID = 248135


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeLimeSurvey(JsonSite):
    """State of one fake LimeSurvey site with one survey; use as a context manager."""

    def __init__(
        self,
        fieldmap: dict[str, Any] | None = None,
        responses: list[dict[str, Any]] | None = None,
        answer_options: dict[int, dict[str, str]] | None = None,
        username: str = "admin",
        password: str = "s3cret-pw",
        sid: int = SID,
    ) -> None:
        self.sid = sid
        self.fieldmap = fieldmap if fieldmap is not None else load_fixture("get-fieldmap.json")
        if responses is None:
            responses = load_fixture("export-responses-all-code-short.json")["responses"]
        self.responses = [dict(r) for r in responses]
        self.answer_options = answer_options or {}
        self.username, self.password = username, password
        self.sessions: set[str] = set()
        self.participants: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.exports: list[tuple[str, Any, Any]] = []  # (status, from, to) of each export
        self.faults: dict[str, list[tuple[str, Any]]] = {}
        self.lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------------

    def answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """RemoteControl is JSON-RPC over POST."""
        if method != "POST":
            return 405, {}, {"error": "method"}
        return self.handle(json.loads(body))

    @property
    def url(self) -> str:
        return f"{super().url}/index.php/admin/remotecontrol"

    # -- test controls --------------------------------------------------------------------------

    def fail(self, method: str, kind: str, value: Any = None) -> None:
        """Queue a fault for the next call of ``method``: ("http", (code, headers)),
        ("status", text), ("slow", seconds), ("page", None): an HTML page, as a site without
        RemoteControl answers, or ("expire", None): the session key has expired."""
        self.faults.setdefault(method, []).append((kind, value))

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def row(self, rid: int) -> dict[str, Any]:
        return next(r for r in self.responses if r["id"] == rid)

    def data_calls(self) -> list[str]:
        return [c for c in self.calls if c not in ("get_session_key", "release_session_key")]

    # -- the RPC --------------------------------------------------------------------------------

    def handle(self, request: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        method, params = request.get("method"), request.get("params") or []
        with self.lock:
            self.calls.append(method)
            fault = self.faults.get(method, []).pop(0) if self.faults.get(method) else None
        if fault and fault[0] == "http":
            code, headers = fault[1]
            return code, headers, {"error": "fake"}
        if fault and fault[0] == "page":
            return 200, {}, "<!DOCTYPE html><html><body>LimeSurvey</body></html>"
        if fault and fault[0] == "slow":
            time.sleep(fault[1])
        if fault and fault[0] == "expire":
            self.expire_sessions()
        envelope = {"id": request.get("id"), "error": None}
        if fault and fault[0] == "status":
            return 200, {}, {**envelope, "result": {"status": fault[1]}}
        if method == "get_session_key":
            if params[:2] != [self.username, self.password]:
                return 200, {}, {**envelope, "result": {"status": "Invalid user name or password"}}
            key = uuid.uuid4().hex
            self.sessions.add(key)
            return 200, {}, {**envelope, "result": key}
        if method == "release_session_key":
            self.sessions.discard(params[0])
            return 200, {}, {**envelope, "result": "OK"}
        if not params or params[0] not in self.sessions:
            # LimeSurvey spells it differently per method; one of its spellings.
            return 200, {}, {**envelope, "result": {"status": "Invalid Session Key"}}
        handler = getattr(self, "rpc_" + str(method), None)
        if handler is None:
            return (
                200,
                {},
                {"id": request.get("id"), "result": None, "error": f"no method {method}"},
            )
        with self.lock:
            result = handler(*params[1:])
        return 200, {}, {**envelope, "result": result}

    def _survey(self, sid: Any) -> dict | None:
        return None if int(sid) == self.sid else {"status": "Error: Invalid survey ID"}

    def rpc_get_fieldmap(self, sid: int, _lang: str | None = None) -> Any:
        return self._survey(sid) or self.fieldmap

    def rpc_get_question_properties(
        self, qid: int, _settings: Any = None, _lang: Any = None
    ) -> Any:
        options = self.answer_options.get(int(qid))
        if not options:
            return {"answeroptions": "No available answer options"}
        return {
            "answeroptions": {
                code: {"answer": label, "assessment_value": 0, "scale_id": 0, "order": i}
                for i, (code, label) in enumerate(options.items())
            }
        }

    def rpc_get_summary(self, sid: int, _stat: str = "all") -> Any:
        complete = sum(1 for r in self.responses if r["submitdate"])
        return self._survey(sid) or {
            "token_count": len(self.participants),
            "completed_responses": complete,
            "incomplete_responses": len(self.responses) - complete,
            "full_responses": len(self.responses),
        }

    def _key(self, field: str) -> str:
        entry = self.fieldmap.get(field)
        if entry is None or not entry.get("title"):
            return field
        return f"{entry['title']}[{entry['aid']}]" if entry.get("aid") else entry["title"]

    def rpc_export_responses(
        self, sid, doc, lang=None, status="all", heading="code", rtype="short", lo=None, hi=None,
        fields=None,
    ) -> Any:  # fmt: skip
        if self._survey(sid):
            return self._survey(sid)
        if (doc, heading, rtype, lang) != ("json", "code", "short", None):
            return {"status": f"fake: unsupported export {doc}/{heading}/{rtype}/{lang}"}
        if not self.responses:
            return {"status": "No Data, could not get max id."}
        self.exports.append((status, lo, hi))
        lo = int(lo) if lo is not None else 1
        hi = int(hi) if hi is not None else max(r["id"] for r in self.responses)
        keys = [self._key(f) for f in fields] if fields else None
        rows = []
        for r in self.responses:
            done = bool(r["submitdate"])
            if not lo <= r["id"] <= hi or (status == "complete" and not done):
                continue
            if status == "incomplete" and done:
                continue
            rows.append({k: r.get(k) for k in keys} if keys else dict(r))
        document = json.dumps({"responses": rows})  # \uXXXX escapes, as LimeSurvey writes
        return base64.b64encode(document.encode("utf-8")).decode("ascii")

    def rpc_list_participants(self, sid, start=0, limit=10, _unused=False, attributes=None, *_):
        if self._survey(sid):
            return self._survey(sid)
        page = self.participants[int(start) : int(start) + int(limit)]
        if not page:
            return {"status": "No survey participants found."}
        out = []
        for p in page:
            row = {
                "tid": p["tid"],
                "token": p["token"],
                "participant_info": {k: p[k] for k in ("firstname", "lastname", "email")},
            }
            row.update({a: p.get(a) for a in attributes or []})
            out.append(row)
        return out

    def rpc_add_participants(self, sid, data, create_token=True):
        if self._survey(sid):
            return self._survey(sid)
        out = []
        for item in data:
            token = re.sub(r"[^0-9a-zA-Z_~]", "", str(item.get("token", "")))
            row = {**item, "token": token}
            if len(str(item.get("token", ""))) > 36:
                row["errors"] = {"token": ["Access code is too long (maximum is 36 characters)."]}
            elif any(p["token"] == token for p in self.participants):
                row["errors"] = {"token": [f'Access code "{token}" has already been taken.']}
            else:
                tid = len(self.participants) + 1
                row = {
                    "sent": "N", "remindersent": "N", "remindercount": 0, "completed": "N",
                    "usesleft": 1, "emailstatus": "OK", "language": "", "validfrom": None,
                    "validuntil": None, **row, "tid": str(tid),
                }  # fmt: skip
                self.participants.append({**row, "tid": tid})
            out.append(row)
        return out

    def rpc_set_participant_properties(self, sid, tid, data):
        if self._survey(sid):
            return self._survey(sid)
        for p in self.participants:
            if p["tid"] == int(tid):
                p.update(data)
                return {**p, "tid": str(p["tid"])}
        return {"status": "Error: Invalid tokenid"}


# -- a pingyi round that matches the recorded survey -------------------------------------------

UNITS = "code,name,system\nU01,财政局,法院\nU02,卫健局,法院\nU03,税务局,法院\nU04,统计局,公安局\nU05,城管局,公安局\n"
POOL = "id,name,group\nP1,甲,人大代表\nP2,乙,政协委员\nP3,丙,乡村干部\nP4,丁,乡村干部\nP5,戊,人大代表\n"
ROUND = "2026-11"
# The access codes LimeSurvey generated for J01..J05 in the recorded samples, in seat order.
SAMPLE_TOKENS = [
    "cFp1Nkb2UDNB94i",
    "rv3RoRSrzZek7Iu",
    "E4K3FYpUaWa9zaz",
    "efqpy7qFGD0jyqg",
    "RqgO00AFNjvenax",
]


def setup_round(cli: Any, tmp_path: Path, units: str = UNITS) -> list[str]:
    """Units U01..U05, pool P1..P5 and round 2026-11 with a designated panel; seat tokens."""
    (tmp_path / "units.csv").write_text(units, encoding="utf-8")
    (tmp_path / "pool.csv").write_text(POOL, encoding="utf-8")
    (tmp_path / "panel.txt").write_text("P1\nP2\nP3\nP4\nP5\n", encoding="utf-8")
    cli("import", "units", str(tmp_path / "units.csv"))
    cli("import", "pool", str(tmp_path / "pool.csv"))
    cli("round", "create", ROUND, "--opens", "2026-11-01", "--closes", "2026-11-30")
    cli("panel", "set", ROUND, str(tmp_path / "panel.txt"))
    return [s["token"] for s in cli.json("panel", "show", ROUND)["seats"]]


def answer_as_seats(fake: FakeLimeSurvey, seat_tokens: list[str]) -> None:
    """Make the recorded J01..J05 responses come from the round's seats (via their access codes)."""
    from connectors.limesurvey.connector import LimeSurvey

    codes = {
        s: LimeSurvey.platform_token(t) for s, t in zip(SAMPLE_TOKENS, seat_tokens, strict=True)
    }
    for row in fake.responses:
        row["token"] = codes.get(row["token"], row["token"])
