"""LimeSurvey response rows (``export_responses``, JSON, ``code`` headings) as pingyi records.

What a row looks like on LimeSurvey 6.4.2 (docs/connectors.md, "LimeSurvey"): ``id`` is an
integer; ``submitdate`` is ``""`` while the response is incomplete (not ``null``) and otherwise
``YYYY-MM-DD HH:MM:SS`` in the server's local time, without a zone; every answer is a string,
``""`` when unanswered. A survey whose "Date stamp" is off stores every submission as
1980-01-01 00:00:00, which says nothing about when it was made.
"""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any

from connectors.canonical import CanonicalBallot, RawRecord
from connectors.mapping import Mapping

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
HIDDEN_TIME = "1980-01-01 00:00:00"
MAX_TOKEN = 200  # the canonical ballot's limit


def response_id(row: dict[str, Any]) -> int:
    return int(row["id"])


def is_complete(row: dict[str, Any]) -> bool:
    return bool(str(row.get("submitdate") or "").strip())


def response_record(row: dict[str, Any], mapping: Mapping, tz: tzinfo, survey: int) -> RawRecord:
    """A complete response row as a record: a canonical ballot, or the reason it is not one.

    The row is kept verbatim (sorted JSON) either way, so a rejected response is never lost.
    """
    rid = str(row.get("id"))
    where = f"survey {survey} response {rid}"
    text = json.dumps(row, ensure_ascii=False, sort_keys=True)
    token = str(row.get("token") or "").strip()
    submitted = str(row.get("submitdate") or "").strip()
    problem = None
    if not token:
        problem = "no access code (the response was not made through a participant's link)"
    elif len(token) > MAX_TOKEN:
        problem = "access code too long"
    elif submitted == HIDDEN_TIME:
        problem = f"submitted at {HIDDEN_TIME}: the survey's Date stamp is off, the time is hidden"
    if problem:
        return RawRecord(where, text, error=f"{where}: {problem}", response_id=rid)
    try:
        at = datetime.strptime(submitted, TIME_FORMAT).replace(tzinfo=tz)
    except ValueError:
        return RawRecord(
            where, text, error=f"{where}: unreadable submitdate {submitted!r}", response_id=rid
        )
    answers, comments = mapping.apply(row)
    # Built directly rather than through CanonicalBallotSchema: the mapping guarantees the
    # schema's shape (unit codes from the store, str or Decimal answers, comments cut to
    # MAX_COMMENT, an aware time), and a 10,000-response poll must fit 20 s (docs/service.md).
    return RawRecord(where, text, ballot=CanonicalBallot(rid, token, at, answers, comments))
