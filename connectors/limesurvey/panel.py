"""Pushing a round's seats to a LimeSurvey survey as participants, idempotently.

Each active seat becomes one participant whose access code carries the seat's token
(``add_participants`` with ``bCreateToken = false``), so the survey link a seat gets is tied to
that seat and nothing else. The participants are listed first (``list_participants`` pages 10 at
a time by default, and answers an empty list with the status ``No survey participants found.``),
so running the push again adds nobody twice. A seat that no longer votes (replaced, void) has its
participant *invalidated* — no uses left, valid until now — rather than deleted: a response it
already gave stays on the platform beside the row that explains it, and the link stops working.

Participants carry no name, e-mail or group by default: the platform only needs a label staff can
recognise (``<round> seat <n>``). Who holds a seat stays in pingyi (docs/draw.md), and pingyi has no
e-mail addresses to give LimeSurvey anyway; invitations go out through the body's own channels.
``with_group`` adds the seat's group as the first name, for bodies that follow participation per
group on the platform.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from connectors.base import ConnectorError, PushResult, SeatRef
from connectors.limesurvey.rpc import RemoteControl, RpcError

logger = logging.getLogger(__name__)

PAGE = 500  # participants per list_participants call
BATCH = 200  # participants per add_participants call
EMPTY = "No survey participants found"


def list_participants(rpc: RemoteControl, survey: int) -> list[dict[str, Any]]:
    """Every participant of the survey, with ``usesleft``, ``validuntil`` and ``completed``."""
    found: list[dict[str, Any]] = []
    start = 0
    while True:
        try:
            page = rpc.call(
                "list_participants", survey, start, PAGE, False,
                ["usesleft", "validuntil", "completed"],
            )  # fmt: skip
        except RpcError as exc:
            if exc.status.startswith(EMPTY):
                return found
            raise
        if not isinstance(page, list):
            raise ConnectorError(f"LimeSurvey list_participants: expected a list, got {page!r:.80}")
        found.extend(page)
        if len(page) < PAGE:
            return found
        start += PAGE


def _usable(participant: dict[str, Any]) -> bool:
    uses = participant.get("usesleft")
    return not (str(uses) == "0" and participant.get("validuntil"))


def push_participants(
    rpc: RemoteControl,
    survey: int,
    round_id: str,
    seats: Sequence[SeatRef],
    platform_token: Callable[[str], str],
    now_text: str,
    with_group: bool = False,
) -> PushResult:
    """Make the survey's participants match the round's seats (see the module docstring)."""
    existing = {str(p.get("token") or ""): p for p in list_participants(rpc, survey)}
    ours = {platform_token(s.token): s for s in seats}
    to_add = [s for t, s in ours.items() if s.status == "active" and t not in existing]
    present = sum(1 for t, s in ours.items() if s.status == "active" and t in existing)
    for start in range(0, len(to_add), BATCH):
        batch = to_add[start : start + BATCH]
        rows = [
            {
                "firstname": s.group if with_group else "",
                "lastname": f"{round_id} seat {s.seat_id}",
                "email": "",
                "token": platform_token(s.token),
            }
            for s in batch
        ]
        added = rpc.call("add_participants", survey, rows, False, idempotent=False)
        if not isinstance(added, list) or len(added) != len(batch):
            raise ConnectorError("LimeSurvey add_participants: unexpected answer")
        failed = [
            f"seat {s.seat_id}: {_errors(row, platform_token(s.token))}"
            for s, row in zip(batch, added, strict=True)
            if isinstance(row, dict) and row.get("errors")
        ]
        if failed:
            raise ConnectorError(
                f"LimeSurvey add_participants refused {len(failed)} of {len(batch)} seats: "
                + "; ".join(failed[:5])
            )
        logger.info("LimeSurvey survey %s: %d participants added", survey, len(batch))
    invalidated = already = 0
    for token, seat in ours.items():
        participant = existing.get(token)
        if seat.status == "active" or participant is None:
            continue
        if not _usable(participant):
            already += 1
            continue
        rpc.call(
            "set_participant_properties",
            survey,
            int(participant["tid"]),
            {"usesleft": 0, "validuntil": now_text},
        )
        invalidated += 1
    foreign = sum(1 for t in existing if t not in ours)
    return PushResult(len(to_add), present, invalidated, already, foreign)


def _errors(row: dict[str, Any], token: str) -> str:
    """A participant row's validation errors, with the token value (a secret) blanked out."""
    errors = row.get("errors")
    if isinstance(errors, dict):
        text = "; ".join(
            f"{field}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
            for field, msgs in errors.items()
        )
    else:
        text = str(errors)
    return text.replace(token, "…")
