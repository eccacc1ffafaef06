"""What the outside sends the service in the tests: a round's reference data, canonical ballots,
and Standard Webhooks deliveries signed as a sender would sign them."""

from __future__ import annotations

import base64
import json
import secrets
import time

from connectors.signatures import sign_headers

AT = "2026-10-20T10:00:00+08:00"  # inside round 2026-10's window

UNITS = "code,name,system\n" + "".join(
    f"U{i},单位{i},{'法院' if i < 3 else '公安局'}\n" for i in range(1, 5)
)
UNIT_NAMES = [f"单位{i}" for i in range(1, 5)]


def pool_csv(size: int) -> str:
    groups = ("人大代表", "政协委员")
    return "id,name,group\n" + "".join(
        f"P{i:03d},评委{i:03d},{groups[i % 2]}\n" for i in range(1, size + 1)
    )


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signed(
    secret: str, body: bytes, msg_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """Headers a Standard Webhooks sender would send with ``body``."""
    return sign_headers(
        secret,
        msg_id or "msg_" + secrets.token_hex(8),
        int(time.time()) if timestamp is None else timestamp,
        body,
    )


def ballot(rid: str, token: str, at: str = AT, **answers: object) -> dict:
    answers = answers or {"U1": "满意", "U2": "基本满意", "U3": 90, "U4": "不满意"}
    return {"id": rid, "token": token, "submitted_at": at, "answers": answers}


def body_of(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")
