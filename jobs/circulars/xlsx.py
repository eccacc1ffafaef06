"""The circular's numbers as an XLSX workbook, because staff work in Excel (docs/circulars.md).

Same circular data as the PDF, same numbers: scores are written as numbers rounded to the two
decimals the PDF prints (``round(x, 2)`` and ``f"{x:.2f}"`` both round the same binary value
correctly), with a ``0.00`` format, so a sum or a sort in Excel uses exactly the published score.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from jobs.circulars.wording import STATUS_LABELS, SUMMARY_KINDS, describe_rules, proportion_text
from jobs.circulars.xlsx_evidence import evidence_sheet
from jobs.circulars.xlsx_pages import comments_sheet, print_setup

logger = logging.getLogger(__name__)

SCORE_FORMAT = "0.00"
SHARE_FORMAT = "0.0%"
_HEADER_FONT = Font(name="Noto Sans CJK SC", bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="F0F0F0")
# Excel refuses these in sheet names, and names longer than 31 characters.
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def _score(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _sheet(wb: Workbook, title: str, headers: list[str], widths: list[int]) -> Worksheet:
    ws = wb.create_sheet(_sheet_title(wb, title))
    ws.append(headers)
    for cell in ws[1]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    return ws


def _sheet_title(wb: Workbook, title: str) -> str:
    """A legal, unique sheet name: systems are data and may clash with our fixed sheet names."""
    base = _SHEET_NAME_BAD.sub("_", title)[:31] or "Sheet"
    name, n = base, 2
    while name in wb.sheetnames:
        suffix = f"({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    return name


def _format_columns(ws: Worksheet, formats: dict[int, str]) -> None:
    for row in ws.iter_rows(min_row=2):
        for col, fmt in formats.items():
            row[col - 1].number_format = fmt


_UNIT_HEADERS = [
    "单位代码",
    "单位名称",
    "所属系统",
    "得分",
    "有效票数",
    "状态",
    "系统内名次",
    "综合名次",
]


def _unit_values(u: dict[str, Any]) -> list[Any]:
    return [
        u.get("code"),
        u.get("name"),
        u.get("system"),
        _score(u.get("score")),
        u.get("votes"),
        STATUS_LABELS.get(u.get("status"), u.get("status")),
        u.get("rank_in_system"),
        u.get("rank_overall"),
    ]


def _unit_table(circular: dict[str, Any]) -> tuple[list[str], Any, dict[int, str], list[int]]:
    """Headers, a row maker, number formats and widths of the unit sheets: a month's tie-break
    shares, or a summary's constituents, M, L and movement."""
    rules = circular.get("rules") or {}
    kind = (circular.get("round") or {}).get("kind", "monthly")
    if kind not in SUMMARY_KINDS:
        sat = rules.get("satisfied_label", "满意")
        dis = rules.get("dissatisfied_label", "不满意")

        def monthly(u: dict[str, Any]) -> list[Any]:
            return [
                *_unit_values(u),
                u.get("satisfied_share"),
                u.get("dissatisfied_share"),
                _score(u.get("mean")),
            ]

        headers = [*_UNIT_HEADERS, f"{sat}率", f"{dis}率", "未去极值平均分"]
        formats = {4: SCORE_FORMAT, 9: SHARE_FORMAT, 10: SHARE_FORMAT, 11: SCORE_FORMAT}
        return headers, monthly, formats, [12, 30, 10, 9, 9, 10, 11, 9, 9, 9, 14]
    name, part, _, _ = SUMMARY_KINDS[kind]
    constituents = circular.get("constituents") or []
    previous = (circular.get("previous") or {}).get("ranks")

    def summary(u: dict[str, Any]) -> list[Any]:
        parts = u.get("parts") or {}
        cells: list[Any] = []
        for c in constituents:
            there = c["ranks"].get(u["code"]) or {}
            ranked = there.get("status") == "ranked"
            cells += [_score(there.get("score")), there.get("rank_in_system") if ranked else None]
        before = (previous or {}).get(u["code"]) or {}
        was = before.get("rank_in_system") if before.get("status") == "ranked" else None
        now = u.get("rank_in_system") if u.get("status") == "ranked" else None
        move = None if previous is None or now is None or was is None else was - now
        return [
            u.get("code"),
            u.get("name"),
            u.get("system"),
            _score(u.get("score")),
            STATUS_LABELS.get(u.get("status"), u.get("status")),
            u.get("rank_in_system"),
            u.get("rank_overall"),
            *cells,
            _score(parts.get("mean")),
            _score(parts.get("leaders")),
            u.get("votes"),
            move,
        ]

    headers = [
        "单位代码", "单位名称", "所属系统", f"{name}得分", "状态", "系统内名次", "综合名次",
        *(f"{c['period']}{label}" for c in constituents for label in ("得分", "名次")),
        f"{part}均分", "领导评分", "领导评分人数", "名次升降（正为上升）",
    ]  # fmt: skip
    scores = [4, *(8 + 2 * i for i in range(len(constituents)))]
    scores += [8 + 2 * len(constituents), 9 + 2 * len(constituents)]
    widths = [12, 30, 10, 10, 10, 11, 9, *([10, 8] * len(constituents)), 10, 10, 12, 18]
    return headers, summary, dict.fromkeys(scores, SCORE_FORMAT), widths


def render_xlsx(circular: dict[str, Any]) -> bytes:
    """The workbook: 总表, one sheet per system, 前十名, 后五名, 一票否决, 评议意见, 参与情况,
    评议规则 (and 整改措施, 可靠性, 票数分布 when the circular has them); every sheet set up for A4."""
    ranking = circular["ranking"]
    rules = circular.get("rules") or {}
    units = ranking.get("units") or []
    by_code = {u["code"]: u for u in units}

    wb = Workbook()
    wb.remove(wb.active)
    if circular.get("generated_at"):
        # "Created" is when the round's circular was made, not when this file was exported
        # (openpyxl stamps "modified" itself). The property is UTC without an offset.
        moment = datetime.fromisoformat(circular["generated_at"])
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        wb.properties.created = moment.replace(tzinfo=None)
    wb.properties.title = (circular.get("issuer") or {}).get("title")
    wb.properties.creator = (circular.get("issuer") or {}).get("body")

    headers, row_of, formats, widths = _unit_table(circular)
    ws = _sheet(wb, "总表", headers, widths)
    for u in sorted(units, key=_overall_key):
        ws.append(row_of(u))
    _format_columns(ws, formats)
    ws.auto_filter.ref = ws.dimensions

    systems = list(circular.get("systems") or dict.fromkeys(u.get("system") for u in units))
    for system in systems:
        ws = _sheet(wb, system, headers, widths)
        members = [u for u in units if u.get("system") == system]
        for u in sorted(members, key=_system_key):
            ws.append(row_of(u))
        _format_columns(ws, formats)

    for title, codes in (
        ("前十名", ranking.get("top") or []),
        ("后五名", ranking.get("bottom") or []),
    ):
        ws = _sheet(wb, title, headers, widths)
        for code in codes:
            ws.append(row_of(by_code.get(code, {"code": code})))
        _format_columns(ws, formats)

    ws = _sheet(
        wb,
        "一票否决",
        [
            "单位代码",
            "单位名称",
            "所属系统",
            "得分",
            "否决理由",
            "决定机关",
            "决定时间",
            "决定轮次",
        ],
        [12, 30, 10, 9, 60, 16, 26, 12],
    )
    own = (circular.get("round") or {}).get("id")
    for veto in circular.get("vetoes") or []:
        u = by_code.get(veto.get("unit"), {})
        ws.append(
            [
                veto.get("unit"),
                u.get("name"),
                u.get("system"),
                _score(u.get("score")),
                veto.get("reason"),
                veto.get("by"),
                veto.get("at"),
                veto.get("round") or own,
            ]
        )
        ws.cell(ws.max_row, 5).alignment = Alignment(wrap_text=True, vertical="top")
    _format_columns(ws, {4: SCORE_FORMAT})
    comments_sheet(wb, circular, _sheet)
    if "measures" in circular:
        _measures_sheet(wb, circular, by_code)
    if circular.get("reliability"):
        _reliability_sheet(wb, circular, units)
    evidence_sheet(wb, circular, _sheet)

    part = ranking.get("participation") or {}
    ws = _sheet(wb, "参与情况", ["项目", "数值"], [22, 40])
    seats, valid_ballots = part.get("seats", 0), part.get("valid_ballots", 0)
    round_ = circular.get("round") or {}
    for row in (
        ("评议轮次", round_.get("id")),
        ("评议期间", round_.get("period")),
        ("应到评委（席位）", seats),
        ("收回评议表", part.get("ballots", 0)),
        ("有效评议表", valid_ballots),
        ("有效票数要求", f"不少于应到评委的{proportion_text(rules.get('quorum', '2/3'))}"),
        ("本次评议是否有效", "有效" if ranking.get("valid") else "未达有效票数"),
        ("审计哈希", circular.get("audit_hash")),
        ("生成时间", circular.get("generated_at")),
    ):
        ws.append(list(row))
    if reissue := circular.get("reissue"):
        ws.append(["版本", f"第{reissue['version']}版，代替第{reissue['replaces']}版"])
        ws.append(["更正原因", reissue["reason"]])

    ws = _sheet(wb, "评议规则", ["序号", "规则"], [20, 110])
    for i, text in enumerate(describe_rules(rules, round_.get("kind", "monthly")), start=1):
        ws.append([i, text])
        ws.cell(ws.max_row, 2).alignment = Alignment(wrap_text=True, vertical="top")
    # The settings themselves, as in the rules file, for anyone recomputing the result.
    ws.append([])
    ws.append(["参数", "取值"])
    for cell in ws[ws.max_row]:
        cell.font = _HEADER_FONT
    for key, value in rules.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        ws.append([key, text])

    _keep_as_text(wb)
    print_setup(wb, wb.properties.title)
    out = BytesIO()
    wb.save(out)
    logger.info("xlsx: round %s, %d units, %d bytes", round_.get("id"), len(units), out.tell())
    return out.getvalue()


def _measures_sheet(wb: Workbook, circular: dict[str, Any], by_code: dict[str, dict]) -> None:
    """整改措施: every measure the circular lists, with who recorded it where and its status."""
    ws = _sheet(
        wb,
        "整改措施",
        ["单位代码", "单位名称", "问题原因", "整改措施", "完成时限", "状态", "完成时间", "登记轮次",
         "完成说明"],
        [12, 30, 40, 50, 12, 8, 26, 10, 30],
    )  # fmt: skip
    for m in circular["measures"]:
        ws.append(
            [
                m["unit"],
                (by_code.get(m["unit"]) or {}).get("name"),
                m["cause"],
                m["measure"],
                m.get("due"),
                {"open": "整改中", "done": "已完成"}.get(m["status"], m["status"]),
                m.get("done_at"),
                m.get("round"),
                m.get("done_note"),
            ]
        )
        for col in (3, 4, 9):
            ws.cell(ws.max_row, col).alignment = Alignment(wrap_text=True, vertical="top")


def _reliability_sheet(wb: Workbook, circular: dict[str, Any], units: list[dict]) -> None:
    """可靠性: the engine's per-unit numbers beside the official ones, then agreement, the
    ballot-check COUNTS and what seeded the bootstrap. Never a seat or a ballot: which ballots
    were flagged stays in the admin-only quality report."""
    rel = circular["reliability"]
    stats, verdicts = rel.get("units") or {}, rel.get("bottom_confidence") or {}
    tied, names = rel.get("tied_with") or {}, {u["code"]: u.get("name") for u in units}
    ws = _sheet(
        wb,
        "可靠性",
        ["单位代码", "单位名称", "所属系统", "得分", "校正得分", "综合名次", "综合名次区间下限",
         "综合名次区间上限", "系统内名次区间下限", "系统内名次区间上限", "进入后五名概率",
         "后五名结论", "无法区分的单位"],
        [24, 30, 10, 9, 10, 9, 10, 10, 10, 10, 10, 16, 60],  # A also holds the summary labels
    )  # fmt: skip
    for u in sorted(units, key=_overall_key):
        one = stats.get(u["code"]) or {}
        overall = one.get("rank_overall") or [None, None]
        in_system = one.get("rank_in_system") or [None, None]
        verdict = {"confirmed": "确定", "tied": "并列"}.get(verdicts.get(u["code"]), "")
        if verdict == "确定" and u.get("status") == "vetoed":
            verdict = "确定（一票否决）"
        ws.append(
            [u.get("code"), u.get("name"), u.get("system"), _score(u.get("score")),
             _score(one.get("adjusted_score")), u.get("rank_overall"), *overall[:2],
             *in_system[:2], one.get("p_bottom"), verdict or None,
             "、".join(names.get(c) or c for c in tied.get(u["code"]) or []) or None]
        )  # fmt: skip
    _format_columns(ws, {4: SCORE_FORMAT, 5: SCORE_FORMAT, 11: SHARE_FORMAT})
    ws.append([])
    ws.append(["项目", "数值"])
    for cell in ws[ws.max_row]:
        cell.font = _HEADER_FONT
    for system, value in (rel.get("icc") or {}).items():
        ws.append([f"评委一致性ICC(2,k)：{system}", "数据不足" if value is None else value])
    counts = rel.get("quality_counts") or {}
    for key, label in (("ballots", "有效评议表（份）"), ("straight_line", "对所有单位同一选项（份）"),
                       ("lenient", "评分明显偏宽（份）"), ("severe", "评分明显偏严（份）"),
                       ("near_duplicate", "高度雷同（对）")):  # fmt: skip
        ws.append([label, int(counts.get(key) or 0)])
    boot = rel.get("bootstrap") or {}
    ws.append(["自助法重抽样次数", boot.get("b")])
    ws.append(["随机种子", boot.get("seed")])
    level = f"{float(boot.get('level') or 0.9) * 100:g}%"
    ws.append(["说明", f"统计参考，不改变正式排名结果；区间为{level}置信区间（含端点）"])


def _keep_as_text(wb: Workbook) -> None:
    """Every piece of text stays text. openpyxl stores a string that starts with ``=`` as a
    formula, so a unit name, veto reason or comment written ``=HYPERLINK(…)`` would run in the
    office's Excel; pingyi writes no formula, so no cell may be one."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


def _overall_key(u: dict[str, Any]) -> tuple[int, int, float, str]:
    rank = u.get("rank_overall")
    score = u.get("score")
    return (rank is None, rank or 0, -(score if score is not None else -1), u.get("code", ""))


def _system_key(u: dict[str, Any]) -> tuple[int, int, float, str]:
    rank = u.get("rank_in_system")
    score = u.get("score")
    return (rank is None, rank or 0, -(score if score is not None else -1), u.get("code", ""))
