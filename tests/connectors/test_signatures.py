"""Standard Webhooks signatures through the ``standardwebhooks`` library: a published vector, the
5-minute window at its edges, the header names, and every way a delivery can be refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from connectors.signatures import (
    BodyNotText,
    SignatureRejected,
    Verifier,
    secret_key,
    sign_headers,
    verify,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_the_published_example_vector_signs_as_published() -> None:
    """The example of the Svix / Standard Webhooks documentation, byte for byte."""
    headers = sign_headers(
        SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    )
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "content-type": "application/json",
    }


def test_any_body_is_signed_over_its_bytes() -> None:
    """UTF-8 text through the library, other bytes through its HMAC primitive: the same rule."""
    key = secret_key(SECRET)
    for body in ('{"单位": "满意"}'.encode(), b"\xff\xfe"):
        got = sign_headers(SECRET, "m", 1700000000, body)["webhook-signature"]
        mac = hmac.new(key, b"m.1700000000." + body, hashlib.sha256).digest()
        assert got == "v1," + base64.b64encode(mac).decode()


@pytest.mark.parametrize("skew", [-290, 0, 290])
def test_a_delivery_within_five_minutes_is_accepted(skew: int) -> None:
    body = b'{"id": "r1"}'
    headers = sign_headers(SECRET, "msg_1", int(time.time()) + skew, body)
    assert verify(SECRET, headers, body) == "msg_1"


@pytest.mark.parametrize("skew", [-301, 301, 3600])
def test_a_delivery_outside_five_minutes_is_refused(skew: int) -> None:
    body = b'{"id": "r1"}'
    headers = sign_headers(SECRET, "msg_1", int(time.time()) + skew, body)
    with pytest.raises(SignatureRejected, match=r"timestamp too (old|new)"):
        verify(SECRET, headers, body)


def test_header_names_are_read_whatever_their_case() -> None:
    body = b"{}"
    headers = {k.title(): v for k, v in sign_headers(SECRET, "m", int(time.time()), body).items()}
    assert "Webhook-Signature" in headers and verify(SECRET, headers, body) == "m"


def test_one_valid_signature_among_several_is_enough() -> None:
    body, now = b"{}", int(time.time())
    good = sign_headers(SECRET, "m", now, body)
    other = sign_headers("whsec_" + base64.b64encode(b"k" * 24).decode(), "m", now, body)
    good["webhook-signature"] = f"v1a,xyz {other['webhook-signature']} {good['webhook-signature']}"
    assert verify(SECRET, good, body) == "m"


def test_forged_tampered_unsigned_and_malformed_deliveries_are_refused() -> None:
    body, now = b'{"id": "r1"}', int(time.time())
    headers = sign_headers(SECRET, "m", now, body)
    refusals = [
        (headers, b'{"id": "r2"}'),  # body changed after signing
        ({**headers, "webhook-id": "m2"}, body),  # id changed after signing
        ({k: v for k, v in headers.items() if k != "webhook-signature"}, body),  # unsigned
        ({**headers, "webhook-signature": "garbage"}, body),  # no "v1," at all
        ({**headers, "webhook-signature": "v1,not base64!"}, body),
        ({**headers, "webhook-timestamp": "soon"}, body),
        (sign_headers(SECRET, "m" * 201, now, body), body),  # longer than the inbox keeps
    ]
    for bad_headers, bad_body in refusals:
        with pytest.raises(SignatureRejected):
            verify(SECRET, bad_headers, bad_body)


def test_an_authentic_body_that_is_not_json_or_not_text_is_malformed() -> None:
    now = int(time.time())
    verifier = Verifier(SECRET)
    with pytest.raises(ValueError, match="Expecting"):
        verifier.verify(sign_headers(SECRET, "m", now, b'{"id": '), b'{"id": ')
    with pytest.raises(BodyNotText):
        verifier.verify(sign_headers(SECRET, "m", now, b"\xff\xfe"), b"\xff\xfe")
    assert verifier.verify(sign_headers(SECRET, "m", now, b"[1]"), b"[1]") == ("m", [1])


def test_a_malformed_secret_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="base64"):
        secret_key("whsec_not-base64!")
    with pytest.raises(ValueError, match="128 bits"):
        secret_key("whsec_QUJD")
