"""腾讯问卷 webhooks: a hint that an answer changed, checked by a key in the URL, re-read by id.

The platform signs nothing (its webhook objects carry an empty ``secret``), so a source takes
deliveries only at ``/hooks/<source>/<key>``. The key is an HMAC-SHA256 of the source's name
under the app secret, cut to 32 hex digits: nothing more to configure or to keep, a different
URL per source, and the same app secret that reads the API proves the URL. Changing the app
secret changes the URL (``source add --replace`` prints the new one).

The verifier answers at once, without the network: right key, a JSON object, one of the three
answer events, the source's survey. What the delivery says about the answer is never used: the
inbox job re-reads the answer through the API (``GET /api/surveys/{id}/answers/{answer_id}``)
and that copy becomes the record. So a forged or stale body cannot put words in a ballot.

- ``answer.create``, ``answer.update``: re-read and stored. An update is a new version of the
  same response (docs/rules.md: judged on its own, the latest version of a seat's answer wins);
  after the round is closed it is kept as rejected, and a published circular is only ever marked
  outdated, never replaced (docs/circulars.md).
- ``answer.delete``: stored in the inbox (the platform's word stays on record) and ends there:
  a ballot pingyi holds is never taken away by the platform.
- Any other event (the test request sent when the webhook is enabled) is answered 200 and not
  stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from connectors.base import (
    Delivery,
    SourceSettings,
    Verifier,
    WebhookMalformed,
    WebhookRejected,
    WebhookRequest,
)
from connectors.canonical import RawRecord
from connectors.http import RetryPolicy
from connectors.tencent_wj.answers import answer_record, text_of
from connectors.tencent_wj.settings import api_of, only_questions, titles_of

logger = logging.getLogger(__name__)

# The inbox job re-reads an answer inside its transaction: a short wait, one retry, and a
# delivery that still fails stays in the inbox to be tried again (and the poll reconciles).
PARSE_POLICY = RetryPolicy(connect_timeout=5.0, read_timeout=20.0, attempts=2, max_total_wait=10.0)
EVENTS = frozenset({"answer.create", "answer.update", "answer.delete"})
HEADERS = ("content-type", "user-agent")


def hook_key(secret: str, source: str) -> str:
    """The source's URL key: derived from the app secret, so nothing else is kept."""
    message = f"pingyi tencent-wj webhook|{source}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()[:32]


def hook_path(secret: str, source: str) -> str:
    return f"/hooks/{source}/{hook_key(secret, source)}"


def _event(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WebhookMalformed("the body is not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise WebhookMalformed("the body is not a JSON object")
    return data


def _answer_id(data: dict[str, Any]) -> str | None:
    payload = data.get("payload")
    answer = text_of(payload.get("answer_id")) if isinstance(payload, dict) else None
    return answer if answer is not None and answer.isdigit() else None


def verifier(settings: SourceSettings) -> Verifier:
    """Built once per source; needs the app secret (unset: ConfigError, answered 500)."""
    key = hook_key(settings.secret("secret"), settings.name).encode()
    survey = str(settings.config["survey"])

    def accept(request: WebhookRequest) -> str | None:
        if request.key is None:
            raise WebhookRejected("this source takes deliveries only at its URL with the key")
        if not hmac.compare_digest(request.key.encode("utf-8", "replace"), key):
            raise WebhookRejected("wrong key in the URL")
        data = _event(request.body)
        action = data.get("action")
        if action not in EVENTS:
            return None
        answer = _answer_id(data)
        if answer is None:
            raise WebhookMalformed(f"{action}: payload.answer_id is missing or not a number")
        given = text_of((data.get("payload") or {}).get("survey_id"))
        if given is not None and given != survey:
            raise WebhookMalformed(f"a delivery for survey {given}; this source reads {survey}")
        delivery = text_of(data.get("id"))
        if delivery is None or len(delivery) > 200:
            delivery = f"{action}:{answer}:{text_of(data.get('created_at')) or ''}"[:200]
        return delivery

    return accept


def parse(settings: SourceSettings, delivery: Delivery) -> list[RawRecord]:
    """A stored delivery -> the answer as the API holds it now (see the module docstring). A
    failing re-read raises, so the delivery stays in the inbox and is tried again."""
    data = json.loads(delivery.body.decode("utf-8-sig"))  # the verifier read it already
    action, answer = data.get("action"), _answer_id(data)
    if action == "answer.delete":
        logger.warning(
            "source %s: the platform reports answer %s deleted; pingyi keeps what it holds",
            settings.name,
            answer,
        )
        return []
    with api_of(settings, PARSE_POLICY) as api:
        item = api.get_answer(int(answer or 0))
    record = answer_record(
        item,
        settings.name,
        titles_of(settings),
        settings.config.get("token_field", "openid"),
        only_questions(settings.config),
    )
    if record.key != answer:
        return [
            RawRecord(
                record.where,
                record.text,
                error=f"{settings.name}: asked for answer {answer}, the platform gave {record.key}",
                response_id=answer,
            )
        ]
    return [record]
