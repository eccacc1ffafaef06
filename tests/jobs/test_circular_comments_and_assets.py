"""What a circular may print and load: comments as text, personal numbers redacted, too few
comments withheld, comment order meaningless; template assets only, never a file or URL named
in the HTML."""

from __future__ import annotations

import copy
import logging
import random
from pathlib import Path
from typing import Any

import pytest

from jobs.circulars.comments import REDACTED, redact
from jobs.circulars.render import (
    CIRCULAR_DIR,
    AssetRefused,
    TemplateAssetFetcher,
    html_to_pdf,
    render_html,
)
from tests.jobs.circular_document import (
    ID_NUMBER,
    LANDLINE,
    PHONE,
    TWO_COMMENTS,
    XSS,
    without_spaces,
)


def test_markup_in_a_comment_is_stripped_to_its_text(
    circular_doc: dict[str, Any], circular_text: str
) -> None:
    """An official document shows what the evaluator meant: no tags, no script, no entities."""
    doc = copy.deepcopy(circular_doc)
    doc["comments"]["GA-15"].append("<b>回复敷衍</b> &amp; <i>拖延</i><br/>a<b")
    html = render_html(doc)
    assert "<script>" not in html and "&lt;script" not in html and "alert(1)" not in html
    assert "&lt;b&gt;" not in html
    assert "<li>回复敷衍 &amp; 拖延a&lt;b</li>" in html  # a lone "<" stays, escaped
    flat = without_spaces(circular_text)
    assert XSS.removeprefix("<script>alert(1)</script>") in flat
    assert "<script>" not in flat and "alert(1)" not in flat


def test_phone_and_id_numbers_in_comments_are_redacted(circular_text: str) -> None:
    flat = without_spaces(circular_text)
    for secret in (PHONE, LANDLINE, ID_NUMBER, "12345678"):
        assert secret not in flat
    assert f"联系电话{REDACTED}一直打不通" in flat
    assert f"身份证号{REDACTED}被登记错误" in flat
    assert f"办公电话{REDACTED}无人接听" in flat


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678", "138 1234 5678", "138-1234-5678", "+86 13812345678", "１３８１２３４５６７８",
        "0731-12345678", "(0731)1234567", "010 8888 1234", "0731-12345678转801", "88881234",
        "430102199001011234", "43010219900101123x", "430102 19900101 1234", "430102900101123",
    ],
)  # fmt: skip
def test_redact_hides_phone_and_id_formats(raw: str) -> None:
    assert redact(f"请联系{raw}谢谢") == f"请联系{REDACTED}谢谢"


def test_redact_keeps_ordinary_numbers() -> None:
    text = "等了3个小时，跑了2026年10月5日、10月12日两次，评分95分"
    assert redact(text) == text


def test_a_unit_with_two_comments_shows_none(circular_doc, circular_text) -> None:
    flat = without_spaces(circular_text)
    for text in TWO_COMMENTS:
        assert without_spaces(text) not in flat
    assert "出警速度快，值得表扬" in flat  # three comments: shown
    assert TWO_COMMENTS[0] in render_html(circular_doc, comment_threshold=2)


def test_comment_order_carries_no_information(circular_doc: dict[str, Any]) -> None:
    shuffled = copy.deepcopy(circular_doc)
    for texts in shuffled["comments"].values():
        random.Random(7).shuffle(texts)
    shuffled["comments"] = dict(reversed(list(shuffled["comments"].items())))
    assert render_html(shuffled) == render_html(circular_doc)


def test_the_fetcher_serves_template_assets_only(tmp_path: Path) -> None:
    fetcher = TemplateAssetFetcher()
    css = fetcher.fetch((CIRCULAR_DIR / "circular.css").as_uri())
    assert b"@page" in css.read()
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    escape = CIRCULAR_DIR.as_uri() + "/../../pyproject.toml"
    link = CIRCULAR_DIR / ".." / "link-out"  # not created: symlinks are resolved before the check
    for url in ("file:///etc/passwd", outside.as_uri(), escape, "http://127.0.0.1/x.png",
                "https://example.com/font.woff", "ftp://example.com/x", "file://evil/etc/passwd",
                link.as_uri()):  # fmt: skip
        with pytest.raises(AssetRefused):
            fetcher.fetch(url)


def test_the_pdf_never_loads_files_or_urls_named_in_html(caplog: pytest.LogCaptureFixture) -> None:
    html = (
        '<html lang="zh-CN"><body><p>测试</p><img src="file:///etc/passwd">'
        '<img src="http://127.0.0.1:9/x.png"><link rel="stylesheet" href="file:///etc/hosts">'
        "</body></html>"
    )
    with caplog.at_level(logging.WARNING, logger="jobs.circulars.render"):
        pdf = html_to_pdf(html)
    assert pdf.startswith(b"%PDF")
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert any("/etc/passwd" in m for m in refused)
    assert any("127.0.0.1" in m for m in refused)
    assert any("/etc/hosts" in m for m in refused)


def test_identical_comments_are_printed_once_with_their_count() -> None:
    from jobs.circulars.comments import pool_comments

    units = [{"code": "U1", "name": "某派出所", "system": "公安局"}]
    texts = ["出警慢。", "出警慢。", "态度生硬。", "出警慢。", "  "]
    [pooled] = pool_comments({"U1": texts}, units, ["公安局"], threshold=3)
    assert pooled["total"] == 4
    assert pooled["comments"] == [
        {"text": "出警慢。", "count": 3},
        {"text": "态度生硬。", "count": 1},
    ]
