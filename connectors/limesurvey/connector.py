"""LimeSurvey (self-hosted), polled through RemoteControl 2: responses in, panel out.

Polling, as the platform allows it (docs/connectors.md, "LimeSurvey"):

- ``export_responses`` takes an *inclusive* response-id range and a completion status, and has no
  filter on dates. Response ids are auto-increment and never reused, but an incomplete response
  completes later *under its old id*. So the cursor keeps the highest id seen and the ids still
  incomplete (``pending``); new ids come from ``max_id + 1`` and pending ids are fetched again.
- Opening a survey link creates a response row at once, and an abandoned row never completes, so
  ``pending`` is never empty for long. Re-reading it on every poll would re-export most of the
  survey; instead each poll first asks ``get_summary`` for the response counts and exports only
  when they moved. With nothing new a poll is three calls (key, summary, release) and no export.
  Counts can hide a change only when someone *deletes* responses at the same time, so at least
  once every ``SWEEP_SECONDS`` the exports run whatever the counts say.
- Only complete responses (``submitdate`` set) become records. ``submitdate`` is server-local time
  without a zone: it is read in the source's ``tz``. Empty strings are NULLs.
- Several rows for one token happen (one per browser session); each complete row is a ballot
  and supersession (docs/rules.md) keeps the seat's latest. A row whose token is not a seat is rejected by the
  store's judge, and kept.

No webhooks: LimeSurvey's core has none (a community plugin exists, but it signs nothing and never
retries), so its platform declares none. ``platform.py`` declares the platform; this module is its
client for one source.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate

from connectors.base import ENV_NAME, ConfigError, ConnectorError, Page, PushResult, SeatRef, option
from connectors.canonical import RawRecord
from connectors.http import HttpClient, RetryPolicy
from connectors.limesurvey.panel import push_participants
from connectors.limesurvey.responses import (
    HIDDEN_TIME,
    TIME_FORMAT,
    is_complete,
    response_id,
    response_record,
)
from connectors.limesurvey.rpc import RemoteControl, RpcError
from connectors.limesurvey.survey import build_mapping
from connectors.mapping import Mapping as SourceMapping
from connectors.mapping import Scale

logger = logging.getLogger(__name__)

ENDPOINT = "/index.php/admin/remotecontrol"
SWEEP_SECONDS = 3600
SYSTEM_FIELDS = ["id", "submitdate", "lastpage", "token", "startdate", "datestamp"]
# A LimeSurvey access code is at most 36 characters and keeps only [0-9A-Za-z_~] (Token model:
# length rule and sanitizeToken); anything else is silently stripped.
_PLATFORM_TOKEN = re.compile(r"^[0-9A-Za-z_~]{1,36}$")


def _zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {name!r}") from None


class LimeSurveyConfigSchema(Schema):
    """A LimeSurvey source's stored configuration; the password is named by ``password_env``."""

    url = fields.Url(
        required=True,
        require_tld=False,
        schemes={"http", "https"},
        metadata=option("LimeSurvey site or RemoteControl URL (…/index.php/admin/remotecontrol)."),
    )
    survey = fields.Integer(
        required=True, validate=validate.Range(min=1), metadata=option("Survey id (sid).")
    )
    username = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata=option("LimeSurvey user with read access to responses and participants."),
    )
    password_env = fields.String(
        required=True,
        validate=ENV_NAME,
        metadata=option("Environment variable holding the password.", secret="password"),
    )
    tz = fields.String(
        load_default="Asia/Shanghai",
        validate=_zone,
        metadata=option("The LimeSurvey server's zone."),
    )
    timeout = fields.Float(
        load_default=120.0,
        validate=validate.Range(min=0.1, max=3600),
        metadata=option("Read timeout, s."),
    )


def endpoint(url: str) -> str:
    """The RemoteControl URL: as given, or the standard path appended to a bare site URL."""
    url = url.rstrip("/")
    return url if "remotecontrol" in url else url + ENDPOINT


@dataclass(frozen=True)
class Cursor:
    """Highest response id seen, ids seen incomplete, the counts at the last export and when."""

    max_id: int = 0
    pending: tuple[int, ...] = ()
    counts: tuple[int, int, int] | None = None
    checked_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "max_id": self.max_id,
            "pending": list(self.pending),
            "counts": None if self.counts is None else list(self.counts),
            "checked_at": self.checked_at,
        }

    @classmethod
    def from_json(cls, data: Any) -> Cursor:
        if not data:
            return cls()
        counts = data.get("counts")
        return cls(
            int(data.get("max_id", 0)),
            tuple(int(i) for i in data.get("pending", [])),
            None if counts is None else (int(counts[0]), int(counts[1]), int(counts[2])),
            float(data.get("checked_at", 0.0)),
        )


class LimeSurvey:
    """The LimeSurvey client for one source: its survey, credentials, mapping and time zone
    (what the platform offers, and how sources use this, is declared in ``platform.py``)."""

    def __init__(
        self,
        config: dict[str, Any],
        secrets: dict[str, str],
        mapping: dict[str, Any] | None = None,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        http: HttpClient | None = None,
    ) -> None:
        try:
            self.config = LimeSurveyConfigSchema().load(config)
        except ValidationError as exc:
            raise ConfigError(f"limesurvey source configuration: {exc.messages}") from None
        if not secrets.get("password"):
            raise ConfigError("limesurvey: no password was given")
        self.survey: int = self.config["survey"]
        self.tz = ZoneInfo(self.config["tz"])
        self.mapping = SourceMapping.from_json(mapping) if mapping is not None else None
        self._clock = clock
        timeout = self.config["timeout"]
        self.http = http or HttpClient(policy or RetryPolicy(read_timeout=timeout))
        self.rpc = RemoteControl(
            endpoint(self.config["url"]), self.config["username"], secrets["password"], self.http
        )

    def close(self) -> None:
        """Release the session key; call when done with the connector."""
        self.rpc.close()

    def __enter__(self) -> LimeSurvey:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def calls(self) -> Mapping[str, int]:
        """RemoteControl calls made so far, by method."""
        return self.rpc.calls

    # -- tokens ---------------------------------------------------------------------------------

    @staticmethod
    def platform_token(seat_token: str) -> str:
        """The access code that carries ``seat_token`` on LimeSurvey.

        A seat token that LimeSurvey can store is used as it is. Longer ones (pingyi's are 43
        characters, with ``-``) would be cut or refused, so they travel as the first 32 hex digits
        (128 bits) of SHA-256 over the seat token; the poll maps them back to the seat.
        """
        if _PLATFORM_TOKEN.match(seat_token):
            return seat_token
        return hashlib.sha256(f"pingyi-limesurvey|{seat_token}".encode()).hexdigest()[:32]

    def survey_link(self, seat_token: str) -> str:
        """The survey's public link for a seat (see :func:`survey_link`)."""
        return survey_link(self.config, seat_token)

    def push_panel(
        self, round_id: str, seats: Sequence[SeatRef], with_group: bool = False
    ) -> PushResult:
        """Add the round's active seats as participants, invalidate the others (idempotent)."""
        now_text = datetime.now(self.tz).strftime(TIME_FORMAT)
        return push_participants(
            self.rpc, self.survey, round_id, seats, self.platform_token, now_text, with_group
        )

    # -- adding a source ------------------------------------------------------------------------

    def build_mapping(
        self,
        question: str,
        units: Iterable[str],
        labels: Iterable[str],
        criteria: list[str],
        scale: Scale,
        comments: str | None = None,
    ) -> tuple[SourceMapping, list[str]]:
        """Read the survey's fieldmap and build the source's mapping (refused with the reason)."""
        fieldmap = self.rpc.call("get_fieldmap", self.survey)
        if not isinstance(fieldmap, dict) or not fieldmap:
            raise ConfigError(f"survey {self.survey}: get_fieldmap returned no fields")
        if "token" not in fieldmap:
            raise ConfigError(
                f"survey {self.survey} keeps no access code with its responses, so ballots "
                "cannot be matched to seats: it needs a participants table (Survey participants "
                "> Initialise) and must not be anonymized"
            )

        def answer_options(qid: str | int) -> dict[str, str]:
            got = self.rpc.call("get_question_properties", int(qid), ["answeroptions"])
            options = got.get("answeroptions") if isinstance(got, dict) else None
            if not isinstance(options, dict):
                return {}
            return {str(code): str((o or {}).get("answer") or "") for code, o in options.items()}

        mapping, notes = build_mapping(
            fieldmap, question, units, labels, criteria, scale, answer_options, comments
        )
        if "datestamp" not in fieldmap:
            notes.append(
                "the survey's Date stamp setting is not on: LimeSurvey then records every "
                f"submission as {HIDDEN_TIME} and the round's window will reject every ballot"
            )
        return mapping, notes

    # -- polling --------------------------------------------------------------------------------

    def _counts(self) -> tuple[int, int, int]:
        summary = self.rpc.call("get_summary", self.survey, "all")
        keys = ("completed_responses", "incomplete_responses", "full_responses")
        if not isinstance(summary, dict) or any(k not in summary for k in keys):
            raise ConnectorError(
                f"survey {self.survey} is not active: it has no responses table yet"
            )
        return tuple(int(summary[k]) for k in keys)  # type: ignore[return-value]

    def _export(self, status: str, start: int, end: int | None = None) -> list[dict[str, Any]]:
        assert self.mapping is not None
        wanted = [
            *SYSTEM_FIELDS,
            *(c.field for c in (*self.mapping.columns, *self.mapping.comments)),
        ]
        try:
            data = self.rpc.export(
                "export_responses", self.survey, "json", None, status, "code", "short",
                start, end, wanted,
            )  # fmt: skip
        except RpcError as exc:
            if exc.status.startswith("No Data, could not get max id"):
                return []  # LimeSurvey's answer for a survey without any response
            if exc.status.startswith("No Data, survey table does not exist"):
                raise ConnectorError(f"survey {self.survey} is not active") from None
            raise
        rows = [r for r in data["responses"] if isinstance(r, dict) and "id" in r]
        if rows:
            missing = self.mapping.missing_keys(rows[0])
            if missing:
                raise ConnectorError(
                    f"survey {self.survey}: the export has no column {missing[0]} "
                    f"({len(missing)} mapped columns missing): the survey changed since the "
                    "source was added; add it again with --replace"
                )
        return rows

    def poll(self, cursor: Any, full: bool = False) -> Page:
        """New and newly completed responses after ``cursor``; ``full`` re-reads every id.

        Calls: ``get_summary``, then (only when the counts moved, on a sweep, or with ``full``)
        one export from ``max_id + 1`` and one over the pending ids.
        """
        if self.mapping is None:
            raise ConfigError("limesurvey: polling needs the source's mapping")
        before = Cursor.from_json(cursor)
        counts = self._counts()  # before the exports: a change after them moves the counts again
        now = self._clock()
        fresh = now - before.checked_at < SWEEP_SECONDS
        if not full and before.counts == counts and fresh:
            return Page([], before.to_json(), done=True)
        new_rows = self._export("all", 1 if full else before.max_id + 1)
        pending = set() if full else set(before.pending)
        done_rows = []
        if pending:
            done_rows = [
                r
                for r in self._export("complete", min(pending), max(pending))
                if response_id(r) in pending
            ]
        complete = {response_id(r): r for r in (*new_rows, *done_rows) if is_complete(r)}
        incomplete = {response_id(r) for r in new_rows if not is_complete(r)}
        after = Cursor(
            max_id=max([before.max_id, *(response_id(r) for r in new_rows)]),
            pending=tuple(sorted((pending - set(complete)) | incomplete)),
            counts=counts,
            checked_at=now,
        )
        records = [self.record(complete[i]) for i in sorted(complete)]
        logger.info(
            "limesurvey survey %s: %d complete responses read, %d pending",
            self.survey,
            len(records),
            len(after.pending),
        )
        return Page(records, after.to_json(), done=True)

    def record(self, row: dict[str, Any]) -> RawRecord:
        """One exported response row as a record (see ``limesurvey_responses``)."""
        assert self.mapping is not None
        return response_record(row, self.mapping, self.tz, self.survey)


def survey_link(config: Mapping[str, Any], seat_token: str) -> str:
    """The survey's public link for a seat, carrying its access code (``/index.php/{sid}`` with
    LimeSurvey's default ``urlFormat=path``, as recorded on 6.4.2)."""
    url = endpoint(config["url"])
    site = url[: url.index("/index.php")] if "/index.php" in url else url.rsplit("/admin", 1)[0]
    return f"{site}/index.php/{config['survey']}?token={LimeSurvey.platform_token(seat_token)}"
