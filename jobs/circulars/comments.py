"""Evaluators' comments as a circular may show them: redacted, pooled per unit, unattributed.

Comments are free text typed by evaluators. Before anything is published: markup is stripped to
its text (an official document shows what was meant, not ``<b>…</b>``); phone and ID numbers
are replaced (people write them in complaints, theirs or a third party's); pool members' names
are replaced (``redact_names``: an evaluator who signs "我是评委陈伟" must not be named); a unit's comments are
shown only when it has enough of them that no single evaluator stands out (docs/circulars.md, default 3);
and they are sorted by text, so their order says nothing about who wrote which or when.
"""

from __future__ import annotations

import html
import logging
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)

REDACTED = "［已隐去］"

# Long comments are cut: a circular names problems, it does not reprint essays, and one
# 100 KB comment must not slow the PDF down. The full text stays in the database.
COMMENT_MAX_CHARS = 500

# ``\d`` on str patterns also matches full-width digits (１３８…), which people type in
# Chinese input methods. A separator is one space (incl. U+3000), dash or full-width dash.
_SEP = r"[\s\-－]?"
_PATTERNS = [
    # 18-digit resident ID (GB 11643), written plain or grouped 6-8-4; checksum digit or X.
    re.compile(rf"(?<![\dA-Za-z])\d{{6}}{_SEP}\d{{8}}{_SEP}\d{{3}}[\dXxＸｘ](?![\dA-Za-z])"),
    # 15-digit first-generation ID, grouped 6-6-3 or plain.
    re.compile(rf"(?<![\dA-Za-z])\d{{6}}{_SEP}\d{{6}}{_SEP}\d{{3}}(?![\dA-Za-z])"),
    # Mobile: optional +86, then 1[3-9] and nine digits, separators anywhere (138 1234 5678).
    re.compile(rf"(?<!\d)(?:(?:\+|00)?86{_SEP})?[1１][3-9３-９](?:{_SEP}\d){{9}}(?!\d)"),
    # Landline with area code: 0731-12345678, (0731)1234567, 010 8888 1234, with extension.
    re.compile(
        rf"(?<!\d)[(（]?0\d{{2,3}}[)）]?{_SEP}\d{{3,4}}{_SEP}\d{{4}}(?:(?:转|-|－|ext\.?)\d{{1,5}})?(?!\d)"
    ),
    # Local number without area code (7–8 digits starting 2–8). Errs on the side of privacy:
    # an 8-digit amount may be hidden too, which is the cheaper mistake.
    re.compile(rf"(?<!\d)[2-8２-８]\d{{2,3}}{_SEP}\d{{4}}(?!\d)"),
]


# Script and style elements are code, not text anyone wrote to be read: dropped with their content.
# Any other tag (``<b>``, ``<br/>``, ``<a href=…>``) is dropped and its text kept; then entities
# (``&amp;``) are decoded, once. A lone ``<`` or ``a<b`` without a closing ``>`` stays as typed.
_CODE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z!][^<>]*>")

# A name of two characters is also a word inside longer text (王平 in 小王平时, 高峰 in 高峰期),
# so it is hidden only where it stands as a name: after a cue that introduces a person, or
# between non-Han characters (start, end, punctuation, digits). Three or more characters are
# hidden wherever they occur. docs/circulars.md, "Comments", states the rule.
_NAME_CUES = "评委|委员|我是|我叫|本人|签名|署名|姓名|联系人"
_HAN = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"


def strip_tags(text: str) -> str:
    """Markup reduced to its text: ``<b>回复敷衍</b>`` reads 回复敷衍."""
    text = _CODE.sub("", text)
    text = _TAG.sub("", text)
    return html.unescape(text)


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for all names, longest first (陈伟明 before 陈伟)."""
    names = {"".join(str(n).split()) for n in names}
    long = sorted((n for n in names if len(n) >= 3), key=lambda n: (-len(n), n))
    short = sorted(n for n in names if len(n) == 2)
    parts = [re.escape(n) for n in long]
    if short:
        two = "|".join(re.escape(n) for n in short)
        parts.append(rf"(?P<cue>(?:{_NAME_CUES})[:：\s]?)(?:{two})")
        parts.append(rf"(?<!{_HAN})(?:{two})(?!{_HAN})")
    if not short:
        parts.append("(?P<cue>(?!))")  # the group exists either way
    return re.compile("|".join(parts)) if parts else None


def redact_names(texts: list[str], names: Iterable[str]) -> list[str]:
    """``texts`` with every pool member's name replaced by ``［已隐去］`` (rule above). Names of
    one character cannot be told from words and are not looked for."""
    pattern = _name_pattern(names)
    if pattern is None:
        return list(texts)

    def hide(match: re.Match[str]) -> str:
        return (match["cue"] or "") + REDACTED

    return [pattern.sub(hide, strip_tags(t)) for t in texts]


def redact(text: str) -> str:
    """Replace phone numbers and ID numbers with ``［已隐去］``; everything else is kept as is."""
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def clean_comment(text: str) -> str:
    """One comment ready to print: markup stripped to text, whitespace collapsed, capped in
    length, redacted."""
    text = " ".join(strip_tags(str(text)).split())
    if len(text) > COMMENT_MAX_CHARS:
        text = text[:COMMENT_MAX_CHARS] + "……"
    return redact(text)


def pool_comments(
    comments: dict[str, list[str]],
    units: list[dict[str, Any]],
    systems: list[str],
    threshold: int = 3,
) -> list[dict[str, Any]]:
    """Per unit with at least ``threshold`` non-empty comments: its redacted comments.

    Identical comments are printed once with their count (staff read "执法态度生硬（5条）"
    faster than five equal lines); the most frequent first, then by text.

    Units come in the order of ``systems``, then by code. Comments for unknown units are dropped
    (they could not be named) with a warning that gives only the count.
    """
    by_code = {u["code"]: u for u in units}
    unknown = [code for code in comments if code not in by_code]
    if unknown:
        logger.warning("circular: comments for %d unknown unit(s) dropped", len(unknown))
    order = {name: i for i, name in enumerate(systems)}
    pooled = []
    for code in sorted(
        (c for c in comments if c in by_code),
        key=lambda c: (order.get(by_code[c].get("system"), len(order)), c),
    ):
        texts = [clean_comment(t) for t in comments[code] or [] if t and str(t).strip()]
        if len(texts) < threshold:
            continue
        unit = by_code[code]
        counts = Counter(texts)
        pooled.append(
            {
                "code": code,
                "name": unit.get("name") or code,
                "system": unit.get("system", ""),
                "total": len(texts),
                "comments": [
                    {"text": text, "count": n}
                    for text, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
                ],
            }
        )
    return pooled
