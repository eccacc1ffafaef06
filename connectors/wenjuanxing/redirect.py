"""问卷星's redirect push (答卷提交后跳转推送): the answer, AES-encrypted, in a form field.

After submitting, the evaluator's browser is sent to the source's URL with a form POST whose field
``content`` is base64 (URL-encoded in the form) of ``IV (16 bytes) + AES-CBC ciphertext`` with
PKCS#7 padding; the plaintext is the same answer JSON as the signed push. The key is the one
問卷星's settings page shows: its UTF-8 bytes when they are 16, 24 or 32 long, else base64 of such
a key. Whether a survey definition can be appended to the plaintext, and how, is not documented:
the plaintext must be one JSON object, and anything else is refused saying so.

There is no signature: what proves a redirect push is that it decrypts, with this source's key,
to an answer to this source's survey. CBC carries no integrity check, so ballots that came this
way are, like every push, reconciled by the export or the OpenAPI poll.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from connectors.base import ConfigError
from connectors.canonical import decode_json


class NotDecrypted(ValueError):
    """The content does not decrypt to an answer with this key (the message says which step)."""


def aes_key(value: str, var: str) -> bytes:
    """The key's bytes; refused, naming the variable and never the value, when no AES key."""
    raw = value.strip().encode("utf-8")
    if len(raw) in (16, 24, 32):
        return raw
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) in (16, 24, 32):
        return decoded
    raise ConfigError(
        f"${var}: not an AES key (16, 24 or 32 characters, or base64 of 16, 24 or 32 bytes)"
    )


def form_content(body: bytes) -> str | None:
    """The ``content`` field of a form body, or None when the body is no such form."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        return None
    fields = dict(parse_qsl(text, keep_blank_values=True))
    content = fields.get("content")
    if not content:
        return None
    if "%" in content:  # URL-encoded twice on the way
        content = unquote(content)
    return content.replace(" ", "+")  # a '+' a form decoder took for a space


def encrypt(plaintext: bytes, key: bytes, iv: bytes) -> str:
    """What 问卷星 sends (the tests' stand-in uses it): base64 of IV + ciphertext."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(padded) + encryptor.finalize()).decode()


def decrypt(content: str, key: bytes) -> dict[str, Any]:
    """The answer JSON in ``content``; NotDecrypted naming the step that failed."""
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise NotDecrypted("content is not base64") from None
    if len(data) < 32 or len(data) % 16:
        raise NotDecrypted("content is not an IV and whole AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(data[:16])).decryptor()
    padded = decryptor.update(data[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise NotDecrypted("content does not decrypt with this source's AES key") from None
    try:
        answer = decode_json(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise NotDecrypted("content decrypts to something that is not answer JSON") from None
    if not isinstance(answer, dict):
        raise NotDecrypted("content decrypts to JSON that is not one answer object")
    return answer
