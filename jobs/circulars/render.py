"""The circular (通报): a round's ranking, rendered to HTML and PDF (docs/circulars.md).

The caller hands in plain data (``circular``, see ``render_html``); the Jinja2 templates in
``templates/circular/`` are autoescaped, evaluators' comments are redacted and pooled here, and
WeasyPrint may load nothing but the project's own template assets.
"""

from __future__ import annotations

import logging
import math
import mimetypes
import re
import time
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jinja2
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from jobs.circulars.change import build_summary_context, history_charts
from jobs.circulars.charts import score_distribution_svg
from jobs.circulars.comments import pool_comments
from jobs.circulars.context import (
    circular_systems,
    common_context,
    system_order,
    top_and_bottom,
    unit_row,
)
from jobs.circulars.reliability_section import reliability_context
from jobs.circulars.tables import system_table
from jobs.circulars.wording import (
    SUMMARY_KINDS,
    chinese_date,
    chinese_number,
    format_share,
    proportion_text,
)

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
CIRCULAR_DIR = TEMPLATES_DIR / "circular"


class AssetRefused(ValueError):
    """The renderer was asked for something outside the project's templates (a file or URL)."""


class TemplateAssetFetcher(URLFetcher):
    """Serve only files under ``templates/`` and ``data:`` URLs; refuse everything else.

    A circular carries text the service does not control (unit names, comments, veto reasons).
    Even though that text is escaped, the fetcher is the last line: no ``file:`` outside the
    templates (``/etc/passwd`` must never end up in a PDF), no network (docs/circulars.md; Indico's
    PDF path does the same). Symlinks are resolved before the check, redirects are off.
    """

    def __init__(self, root: Path = TEMPLATES_DIR) -> None:
        super().__init__(timeout=5, allowed_protocols={"file", "data"}, allow_redirects=False)
        self._root = root.resolve()

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file" and parts.netloc in ("", "localhost"):
            try:
                path = Path(url2pathname(parts.path)).resolve()
                inside = path.is_relative_to(self._root) and path.is_file()
            except (OSError, ValueError):  # e.g. a NUL byte or a symlink loop
                inside = False
            if inside:
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(
                    path.as_uri(), path.read_bytes(), {"Content-Type": content_type}
                )
        logger.warning("circular: refused to fetch %.120s", url)
        raise AssetRefused(f"not a template asset: {url[:120]}")


def build_context(circular: dict[str, Any], comment_threshold: int = 3) -> dict[str, Any]:
    """Turn the plain ``circular`` into display-ready values: the template has no logic to get
    wrong."""
    ranking = circular["ranking"]
    rules = circular.get("rules") or {}
    units = ranking.get("units") or []
    by_code = {u["code"]: u for u in units}
    large = len(units) > LARGE_ROUND
    systems = circular_systems(circular)

    participation = ranking.get("participation") or {}
    seats = int(participation.get("seats") or 0)
    ballots = int(participation.get("ballots") or 0)
    valid_ballots = int(participation.get("valid_ballots") or 0)
    quorum = Fraction(str(rules.get("quorum", "2/3")))
    required = math.ceil(quorum * seats)

    veto_rows = []
    for veto in circular.get("vetoes") or []:
        unit = by_code.get(veto.get("unit"), {"code": veto.get("unit"), "name": veto.get("unit")})
        veto_rows.append(
            {
                **unit_row(unit, "rank_overall"),
                "reason": (veto.get("reason") or "").strip(),
                "by": veto.get("by") or "",
                "date": chinese_date(veto.get("at")),
            }
        )
    common = common_context(circular)
    return {
        **common,
        "valid": bool(ranking.get("valid")),
        "seats": seats,
        "ballots": ballots,
        "valid_ballots": valid_ballots,
        "invalid_ballots": max(0, ballots - valid_ballots),
        "missing_ballots": max(0, seats - ballots),
        "required": required,
        "quorum_text": proportion_text(rules.get("quorum", "2/3")),
        "turnout": format_share(ballots / seats if seats else None),
        "opens": chinese_date(common["round"].get("opens_at"), with_time=True),
        "closes": chinese_date(common["round"].get("closes_at"), with_time=True),
        "unit_count": len(units),
        "ranked_count": sum(1 for u in units if u.get("status") == "ranked"),
        "insufficient_count": sum(1 for u in units if u.get("status") == "insufficient"),
        "systems": [_system(units, system, rules, large) for system in systems],
        "chart": Markup(score_distribution_svg(units, systems)),  # built with escaped text
        "history_charts": [] if large else history_charts(circular, systems),
        "history_periods": [p["label"] for p in (circular.get("history") or {}).get("periods", [])],
        "large": large,
        "large_shown": LARGE_SHOWN,
        **top_and_bottom(circular, by_code),
        "vetoes": veto_rows,
        "comment_threshold": comment_threshold,
        "comment_units": pool_comments(
            circular.get("comments") or {}, units, systems, comment_threshold
        ),
        "min_votes": rules.get("min_votes", 10),
        "satisfied_label": rules.get("satisfied_label", "满意"),
        "reliability": reliability_context(circular),
    }


# A round with more units than this is province-sized (docs/scale.md): its circular prints each
# system's head and tail, the lists, the vetoes and the rest in full, and leaves the long middle
# of the system tables (and the rank-over-months charts) to the XLSX, which has every unit. A
# 2,000-unit table would be some 60 pages nobody reads, and minutes of layout.
LARGE_ROUND = 400
LARGE_SHOWN = 15


def _system(
    units: list[dict[str, Any]], system: str, rules: dict[str, Any], large: bool
) -> dict[str, Any]:
    """One system's rows in rank order, and its table (jobs/circulars/tables.py); in a
    province-sized round only its first and last ``LARGE_SHOWN`` rows."""
    rows = [unit_row(u, "rank_in_system") for u in system_order(
        [u for u in units if u.get("system") == system])]  # fmt: skip
    count, omitted = len(rows), 0
    if large and count > 2 * LARGE_SHOWN:
        omitted = count - 2 * LARGE_SHOWN
        gap = {"code": "", "rank": "…", "name": f"（其余{omitted}个单位见XLSX表格）",
               "system": system, "score": "", "votes": "", "satisfied": "", "note": "",
               "status": "gap"}  # fmt: skip
        rows = [*rows[:LARGE_SHOWN], gap, *rows[-LARGE_SHOWN:]]
    return {
        "name": system,
        "count": count,
        "omitted": omitted,
        "rows": rows,
        "table": system_table(rows, rules.get("satisfied_label", "满意")),
    }


def _environment() -> jinja2.Environment:
    # Built per call: compiling one template costs milliseconds next to a second of layout, and
    # no module-level state means no stale templates in a long-running worker.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(CIRCULAR_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["chinese"] = chinese_number
    env.filters["joinlines"] = _join_lines
    return env


def _join_lines(text: str) -> str:
    """Drop template line breaks inside Chinese prose: WeasyPrint turns a newline between two
    CJK characters into a visible space (it does not apply CSS Text's segment-break rules)."""
    joined = re.sub(r"\s*\n\s*", "", text)
    return Markup(joined) if isinstance(text, Markup) else joined


def render_html(circular: dict[str, Any], *, comment_threshold: int = 3) -> str:
    """The circular as HTML. ``circular`` is plain data: round, issuer, ranking, systems, vetoes,
    comments (raw; redacted and thresholded here), rules, audit_hash, generated_at."""
    kind = (circular.get("round") or {}).get("kind", "monthly")
    if kind in SUMMARY_KINDS:
        context = build_summary_context(circular, comment_threshold)
    else:
        context = build_context(circular, comment_threshold)
    return (
        _environment()
        .get_template(f"{kind if kind in SUMMARY_KINDS else 'monthly'}.html")
        .render(**context)
    )


def html_to_pdf(html: str) -> bytes:
    """Lay out HTML with WeasyPrint, loading only template assets (see TemplateAssetFetcher)."""
    started = time.perf_counter()
    layout = HTML(
        string=html, base_url=CIRCULAR_DIR.as_uri() + "/", url_fetcher=TemplateAssetFetcher()
    ).render()
    pdf = layout.write_pdf()
    logger.info(
        "circular: %d pages, %d bytes in %.2f s",
        len(layout.pages),
        len(pdf),
        time.perf_counter() - started,
    )
    return pdf


def render_pdf(circular: dict[str, Any], *, comment_threshold: int = 3) -> bytes:
    """The circular as PDF bytes (A4, after GB/T 9704-2012)."""
    logger.info("circular: rendering round %s", circular.get("round", {}).get("id"))
    return html_to_pdf(render_html(circular, comment_threshold=comment_threshold))
