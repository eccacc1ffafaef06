"""The redirect push (AES ``content`` in a form post) through the real receiver and inbox job:
it is an answer only if it decrypts with the source's key to an answer to the source's survey."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from connectors.wenjuanxing.redirect import encrypt
from tests.connectors.wenjuanxing.test_push import stored
from tests.connectors.wenjuanxing.wjx import (
    ACTIVITY,
    KEY,
    VAR,
    add_source,
    push_body,
    web,
    write_setup_files,
)
from tests.fake_limesurvey import setup_round

AES_KEY = "wjxAesKey-16byte"  # 16 characters, as the settings page shows one
AES_VAR = "WJX_AES_KEY"


@pytest.fixture(autouse=True)
def aes_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(AES_VAR, AES_KEY)


def form(answer: dict, key: str = AES_KEY) -> bytes:
    """The browser's form post: content = URL-encoded base64 of IV + AES-CBC ciphertext."""
    plain = json.dumps(answer, ensure_ascii=False).encode("utf-8")
    return ("content=" + quote(encrypt(plain, key.encode(), os.urandom(16)), safe="")).encode()


def send(client, body: bytes):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return client.post("/hooks/wjx", data=body, headers=headers)


def test_a_redirect_push_that_decrypts_is_a_ballot_and_anything_else_is_refused(
    cli, tmp_path: Path
) -> None:
    tokens = setup_round(cli, tmp_path)
    out = add_source(cli, tmp_path, "wjx", "--aes-key-env", AES_VAR)
    assert "signed pushes and redirect pushes" in out
    client = web(cli, {VAR: KEY, AES_VAR: AES_KEY})
    answer = {k: v for k, v in push_body(21, tokens[0], [2, 2, 1, 1, 4]).items() if k != "sign"}
    first = send(client, form(answer))
    assert first.status_code == 202, first.get_json()
    assert send(client, form(answer)).get_json()["status"] == "duplicate"  # same joinid
    forged = send(client, form(dict(answer, joinid="999"), key="someone-elses-ky"))
    assert forged.status_code == 401 and forged.get_json()["message"].startswith(
        "redirect push: content"
    )
    other = send(client, form(dict(answer, activity="41943184", joinid="998")))
    assert other.status_code == 401 and "this source takes survey 5657754" in other.get_data(
        as_text=True
    )
    assert send(client, b"content=not-base64!").status_code == 401
    signed = push_body(22, tokens[1], [1] * 5)  # the signed push still works beside it
    assert client.post("/hooks/wjx", json=signed).status_code == 202
    ballots = stored(cli)
    assert ballots["21"][0] == "accepted" and ballots["22"][0] == "accepted"
    assert ballots["21"][4] == {"U01": "基本满意", "U02": "基本满意", "U03": "满意",
                                "U04": "满意", "U05": "不了解"}  # fmt: skip


def test_an_aes_only_source_refuses_signed_pushes_and_a_malformed_key(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = setup_round(cli, tmp_path)
    (tmp_path / "s").mkdir()
    survey = write_setup_files(tmp_path / "s")[0]
    base = ("source", "add", "wjx", "--kind", "wenjuanxing", "--round", "2026-11",
            "--activity", ACTIVITY, "--structure", str(survey), "--aes-key-env", AES_VAR)  # fmt: skip
    monkeypatch.setenv(AES_VAR, "too-short")
    refused = cli(*base, ok=False)
    assert "$WJX_AES_KEY: not an AES key" in refused and "too-short" not in refused
    monkeypatch.setenv(AES_VAR, AES_KEY)
    cli(*base)
    client = web(cli, {AES_VAR: AES_KEY})
    signed = client.post("/hooks/wjx", json=push_body(1, tokens[0], [1] * 5))
    assert signed.status_code == 401
    assert signed.get_json()["message"] == "this source takes redirect pushes only (AES content)"


def test_the_evaluators_browser_is_shown_a_page_not_json(cli, tmp_path: Path) -> None:
    """The redirect push is the evaluator's own browser, sent here after submitting: it is
    answered with a page in Chinese saying whether the answer is in (never why not); the
    status stays the receiver's, and a platform's server still gets JSON."""
    tokens = setup_round(cli, tmp_path)
    add_source(cli, tmp_path, "wjx", "--aes-key-env", AES_VAR)
    client = web(cli, {VAR: KEY, AES_VAR: AES_KEY})
    browser = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    }
    answer = {k: v for k, v in push_body(31, tokens[0], [1] * 5).items() if k != "sign"}
    for expected in (202, 200):  # stored, then the same answer again: both are "received"
        page = client.post("/hooks/wjx", data=form(answer), headers=browser)
        assert page.status_code == expected
        assert page.content_type == "text/html; charset=utf-8"
        text = page.get_data(as_text=True)
        assert "评议已提交" in text and "<script" not in text
        assert answer["joinid"] not in text and tokens[0] not in text
    forged = client.post(
        "/hooks/wjx", data=form(dict(answer, joinid="77"), key="someone-elses-ky"), headers=browser
    )
    assert forged.status_code == 401 and "提交未能确认" in forged.get_data(as_text=True)
    assert "redirect push" not in forged.get_data(as_text=True)  # the reason is for staff
    server = send(client, form(dict(answer, joinid="78")))  # no Accept: a platform's server
    assert server.status_code == 202 and server.get_json()["status"] == "accepted"
    assert stored(cli)["31"][0] == "accepted"
