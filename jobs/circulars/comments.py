"""Evaluators' comments as a circular may show them: redacted, pooled per unit, unattributed.

Comments are free text typed by evaluators. Before anything is published: phone and ID numbers
are replaced (people write them in complaints, theirs or a third party's); a unit's comments are
shown only when it has enough of them that no single evaluator stands out (docs/circulars.md, default 3);
and they are sorted by text, so their order says nothing about who wrote which or when.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
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


def redact(text: str) -> str:
    """Replace phone numbers and ID numbers with ``［已隐去］``; everything else is kept as is."""
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def clean_comment(text: str) -> str:
    """One comment ready to print: whitespace collapsed, capped in length, redacted."""
    text = " ".join(str(text).split())
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
