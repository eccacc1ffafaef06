"""问卷星's signed push (答卷api推送): verified at ``/hooks/<source>``, parsed in the inbox job.

The body is a JSON object of strings: ``activity`` (the survey), ``joinid`` (the platform-wide
submission number), ``index`` (the answer's sequence number in the survey, when present),
``submittime`` (Beijing time, no zone), ``sojumpparm`` (the token the link carried), ``sign``, and
one key per question or matrix row (``q5_1``: the chosen column's position).

``sign = sha1(activity + index + key)`` in hex. It covers neither the answers nor a time: a
replayed push is harmless only because a ballot is stored once per answer, and a leaked sign
would let someone alter that one answer, which the export reconciliation then corrects. The
vendor's own example carries ``joinid`` but no ``index``, so which field is signed is not
certain: the signature is accepted over ``index`` when the push has one, else over ``joinid``,
and refused otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl

from connectors.base import (
    ConfigError,
    Delivery,
    SourceSettings,
    Verifier,
    WebhookMalformed,
    WebhookRejected,
    WebhookRequest,
)
from connectors.canonical import RawRecord, decode_json
from connectors.wenjuanxing.records import (
    Cell,
    answer_record,
    link_token,
    record_text,
    sequence_id,
)
from connectors.wenjuanxing.redirect import NotDecrypted, aes_key, decrypt, form_content
from connectors.wenjuanxing.survey import KEY, SurveyMap

HEADERS = ("content-type", "user-agent")
KEPT = ("content-type", "user-agent")
MAX_ID = 40  # joinid is a 12-digit number; anything far longer is not one


def sign(activity: str, index: str, key: str) -> str:
    """The signature 问卷星 sends: SHA-1 of the three strings, lower-case hex."""
    return hashlib.sha1(f"{activity}{index}{key}".encode()).hexdigest()


def read_body(body: bytes) -> dict[str, str] | None:
    """The push as a dict of strings: JSON, or a form body with the same fields (the vendor
    documents JSON; a form post is accepted too). None when it is neither."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        data = decode_json(text)
    except ValueError:
        pairs = parse_qsl(text, keep_blank_values=True)
        data = dict(pairs) if pairs and any(k == "activity" for k, _ in pairs) else None
    if not isinstance(data, dict):
        return None
    return {str(k): _scalar(v) for k, v in data.items()}


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # a multi-choice sent as a list: kept whole, named if unread
        return ",".join(_scalar(v) for v in value)
    return str(value)


def verifier(settings: SourceSettings) -> Verifier:
    """Built once per source: its keys are read (and a missing one refused) here. A signed push
    needs ``--secret-env``, a redirect push ``--aes-key-env``; a source with neither is polled
    only and refuses every push."""
    activity = str(settings.config["activity"])
    key = settings.secret("secret") if settings.config.get("secret_env") else None
    aes = _aes(settings)
    if key is None and aes is None:
        return _no_pushes

    def accept(request: WebhookRequest) -> str | None:
        if request.key is not None:
            raise WebhookRejected(
                "a wenjuanxing source takes no key in its URL (pushes are signed)"
            )
        content = form_content(request.body) if aes is not None else None
        if content is not None:
            try:
                data = {str(k): _scalar(v) for k, v in decrypt(content, aes).items()}
            except NotDecrypted as exc:
                raise WebhookRejected(f"redirect push: {exc}") from None
        else:
            data = read_body(request.body)
            if data is None:
                raise WebhookRejected(f"not a 问卷星 push: {data_hint(request.body)}")
            if key is None:
                raise WebhookRejected("this source takes redirect pushes only (AES content)")
            _check_sign(data, key)
        if data.get("activity") != activity:
            raise WebhookRejected(
                f"a push for survey {data.get('activity')!r}; this source takes survey {activity}"
            )
        joinid = data.get("joinid", "")
        if not joinid or len(joinid) > MAX_ID:
            raise WebhookMalformed("the push carries no usable joinid")
        return joinid

    return accept


def _aes(settings: SourceSettings) -> bytes | None:
    if not settings.config.get("aes_key_env"):
        return None
    return aes_key(settings.secret("aeskey"), settings.secret_vars["aeskey"])


def _check_sign(data: dict[str, str], key: str) -> None:
    """``sign = sha1(activity + index + key)``, over ``joinid`` when there is no ``index``."""
    given = data.get("sign", "").strip().lower()
    if not given:
        raise WebhookRejected("the push carries no sign")
    signed_by = data.get("index") or data.get("joinid")
    if not signed_by:
        raise WebhookRejected("the push carries neither index nor joinid to check its sign by")
    expected = sign(data.get("activity", ""), signed_by, key)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise WebhookRejected("bad sign: not sha1(activity + index + push key)")


def _no_pushes(request: WebhookRequest) -> str | None:
    raise WebhookRejected(
        "this source takes no pushes (it was added without --secret-env or --aes-key-env)"
    )


def data_hint(body: bytes) -> str:
    """Why a body is not a push, without quoting it."""
    if not body.strip():
        return "the body is empty"
    return "the body is not a JSON object (nor a form) with the push's fields"


def response_id(data: dict[str, str]) -> str | None:
    """The answer's id: its sequence number in the survey (``index``), which the export shows
    as 序号, so a push and the export of the same answer are one ballot. A push without
    ``index`` is keyed ``joinid-<joinid>`` (see docs/platforms/wenjuanxing.md)."""
    index = sequence_id(data.get("index"))
    if index is not None:
        return index
    joinid = data.get("joinid", "").strip()
    return f"joinid-{joinid}" if joinid and len(joinid) <= MAX_ID else None


def push_cells(data: dict[str, Any]) -> list[Cell]:
    """The answer cells of a push: every ``q<N>`` and ``q<N>_<row>`` key, in question order."""
    cells = []
    for key, value in data.items():
        if KEY.match(key):
            cells.append(Cell(key.split("_", 1)[0], key, None, key, value))
    return cells


def parse_push(data: dict[str, str], survey: SurveyMap, where: str, text: str) -> RawRecord:
    """One push as one record (a ballot, or rejected naming what is wrong)."""
    token = link_token(data.get("sojumpparm"))
    return answer_record(
        where, text, response_id(data), token, data.get("submittime"), push_cells(data), survey
    )


def parse(settings: SourceSettings, delivery: Delivery) -> list[RawRecord]:
    """A stored delivery to its record; the mapping is the source's (see :func:`stored_map`)."""
    where = f"{settings.name} push {delivery.id}"
    text = delivery.body.decode("utf-8", errors="backslashreplace")
    content = form_content(delivery.body) if settings.config.get("aes_key_env") else None
    if content is not None:
        try:
            data = {str(k): _scalar(v) for k, v in decrypt(content, _aes(settings) or b"").items()}
        except NotDecrypted as exc:
            return [RawRecord(where, text, error=f"{where}: redirect push: {exc}")]
        text = record_text(data)  # the answer itself, not its ciphertext
        return [parse_push(data, stored_map(settings), where, text)]
    data = read_body(delivery.body)
    if data is None:
        return [RawRecord(where, text, error=f"{where}: {data_hint(delivery.body)}")]
    return [parse_push(data, stored_map(settings), where, text)]


def stored_map(settings: SourceSettings) -> SurveyMap:
    """The source's stored mapping (``sources.mapping``, handed to pollers, the inbox's parsers
    and export readers alike); a source without one must be added again."""
    if not settings.mapping:
        raise ConfigError(f"source {settings.name}: no 问卷星 mapping stored; add it again")
    return SurveyMap.from_json(settings.mapping)
