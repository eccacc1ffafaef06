"""The reliability section of the monthly circular (jobs/circulars/reliability_section.py): its
sentences from plain engine data, its absence when the engine did not run, one real PDF read back
with poppler, and the XLSX sheet read back with openpyxl."""

from __future__ import annotations

import copy
import re
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from jobs.circulars.reliability_section import (
    bottom_sentence,
    format_probability,
    icc_sentence,
    quality_sentence,
    reliability_context,
)
from jobs.circulars.render import render_html, render_pdf
from jobs.circulars.xlsx import render_xlsx
from tests.jobs.circular_document import make_doc, pdftotext, without_spaces

SEED = "draw seed 9319./2.5.8.10.12./"
# What the engine's admin-only quality report holds; none of it may reach a circular.
SEAT, TOKEN = "席位4711", "tok-7f3a9c2e51"
TIED_SF12 = ["GA-17", "GA-33", "FY-05", "FY-16", "JC-04", "FY-10", "SF-10"]  # > 5: 等7个单位
TIED_JC13 = ["GA-17", "GA-33", "FY-05"]


def reliability_for(doc: dict[str, Any]) -> dict[str, Any]:
    """Engine output for make_doc()'s round, by hand: intervals widening with rank, the bottom
    list GA-14 and FY-08 (vetoed), GA-31 (confirmed), SF-12 (tied with 7) and JC-13 (tied with
    3)."""
    units = doc["ranking"]["units"]
    last = max(u["rank_overall"] for u in units if u["status"] == "ranked")
    stats: dict[str, Any] = {}
    for u in units:
        r = u["rank_overall"]
        if r is None:
            stats[u["code"]] = {"rank_overall": None, "rank_in_system": None, "p_bottom": 0.0,
                                "adjusted_score": None}  # fmt: skip
            continue
        w = 3 + r % 5
        fixed = u["status"] == "vetoed"
        rs = u["rank_in_system"]
        stats[u["code"]] = {
            "rank_overall": [r, r] if fixed else [max(1, r - w), min(last, r + w)],
            "rank_in_system": [rs, rs] if fixed else [max(1, rs - 2), rs + 2],
            "p_bottom": 1.0 if fixed else round(max(0.0, (r - 80) / 13) ** 2, 3),
            "adjusted_score": round(u["score"] + 0.37, 2),
        }
    stats["GA-31"]["p_bottom"] = 0.91
    stats["SF-12"]["p_bottom"] = 0.41
    stats["JC-13"]["p_bottom"] = 0.38
    return {
        "bootstrap": {"b": 2000, "seed": SEED},
        "units": stats,
        "bottom_confidence": {
            "GA-14": "confirmed",
            "FY-08": "confirmed",
            "GA-31": "confirmed",
            "SF-12": "tied",
            "JC-13": "tied",
        },
        "bottom_evidence": {
            "GA-14": {
                "p_bottom": 1.0,
                "below_median": False,
                "months_in_bottom": 1,
                "vetoed": True,
            },
            "FY-08": {
                "p_bottom": 1.0,
                "below_median": False,
                "months_in_bottom": 1,
                "vetoed": True,
            },
            "GA-31": {
                "p_bottom": 0.91,
                "below_median": True,
                "months_in_bottom": 2,
                "vetoed": False,
            },
            "SF-12": {
                "p_bottom": 0.41,
                "below_median": True,
                "months_in_bottom": 1,
                "vetoed": False,
            },
            "JC-13": {
                "p_bottom": 0.38,
                "below_median": False,
                "months_in_bottom": 0,
                "vetoed": False,
            },
        },
        "tied_with": {"SF-12": TIED_SF12, "JC-13": TIED_JC13},
        "icc": {"法院": 0.71, "检察院": 0.64, "公安局": 0.78, "司法局": None},
        "quality_counts": {
            "ballots": 93,
            "straight_line": 1,
            "lenient": 2,
            "severe": 0,
            "near_duplicate": 1,
        },
        # Not part of the contract: flagged seats as a careless engine might pass them along.
        "flags": [{"seat": SEAT, "token": TOKEN, "kind": "straight_line", "with": None}],
    }


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    d = make_doc()
    d["reliability"] = reliability_for(d)
    return d


@pytest.fixture(scope="module")
def names(doc: dict[str, Any]) -> dict[str, str]:
    return {u["code"]: u["name"] for u in doc["ranking"]["units"]}


@pytest.fixture(scope="module")
def context(doc: dict[str, Any]) -> dict[str, Any]:
    ctx = reliability_context(doc)
    assert ctx is not None
    return ctx


def sentence_for(ctx: dict[str, Any], name: str) -> str:
    return next(s for s in ctx["bottom_sentences"] if s.startswith(name + "："))


# --- wording ----------------------------------------------------------------------------------


def test_a_confirmed_unit_gives_its_interval_chance_and_persistence(context, names) -> None:
    assert sentence_for(context, names["GA-31"]) == (
        f"{names['GA-31']}：综合第92名，90%置信区间为第87至92名，进入后五名的概率为91%，"
        "按评委宽严校正后的得分为68.42，近三个月中有2个月列后五名，"
        "得分显著低于中位数，结果确定。"
    )


def test_a_tied_unit_names_five_units_then_counts_them_all(context, names) -> None:
    text = sentence_for(context, names["SF-12"])
    shown = "、".join(names[c] for c in TIED_SF12[:5])
    assert "进入后五名的概率为41%，" in text
    assert f"与{shown}等7个单位在统计上无法区分，排名差异可能由评委抽样造成。" in text
    assert names[TIED_SF12[5]] not in text and names[TIED_SF12[6]] not in text
    assert "结果确定" not in text


def test_a_tied_unit_with_few_peers_names_them_all_without_a_count(context, names) -> None:
    text = sentence_for(context, names["JC-13"])
    assert f"与{'、'.join(names[c] for c in TIED_JC13)}在统计上无法区分" in text
    assert "等" not in text and "近三个月" not in text


def test_a_vetoed_unit_is_in_the_list_by_decision_not_by_statistics(context, names) -> None:
    assert sentence_for(context, names["GA-14"]) == (
        f"{names['GA-14']}：综合第94名，因一票否决列入后五名（决定，非统计结果）。"
    )
    assert len(context["bottom_sentences"]) == 5


def test_probabilities_never_round_to_certainty() -> None:
    assert [format_probability(p) for p in (0.0, 0.004, 0.41, 0.996, 1.0, None)] == [
        "0%", "不足1%", "41%", "超过99%", "100%", "—",
    ]  # fmt: skip


def test_icc_in_system_order_with_too_few_data_named() -> None:
    text = icc_sentence(
        {"司法局": None, "法院": 0.7149, "公安局": 0.78}, ["法院", "检察院", "公安局", "司法局"]
    )
    assert text.startswith(
        "评委一致性（组内相关系数ICC(2,k)）：法院0.71，公安局0.78，司法局数据不足。"
    )
    assert "0.75以上为好，0.5至0.75为中等" in text


def test_the_quality_sentence_gives_counts_and_names_no_ballot(context) -> None:
    assert context["quality_sentence"] == (
        "经检查，93份有效评议表中，1份对所有单位选择同一选项，2份评分明显偏宽、0份明显偏严，"
        "1对评议表高度雷同；按评议规则，以上评议表均照常计入，仅作提示。"
    )
    assert "未发现" in quality_sentence({"ballots": 90})
    every_text = repr(context)
    assert SEAT not in every_text and TOKEN not in every_text and "4711" not in every_text


def test_the_closing_line_keeps_the_official_result_and_names_b_and_seed(context) -> None:
    assert context["closing"].startswith("本部分为统计参考，不改变上述正式排名结果。")
    assert f"自助法重抽样2000次，随机种子由本月抽签种子导出（{SEED}）" in context["closing"]


def test_a_round_without_a_draw_says_what_seeded_it_and_the_level_follows_the_engine(
    doc,
) -> None:
    d = copy.deepcopy(doc)
    d["reliability"]["bootstrap"] = {"b": 500, "seed": "round id 2026-10", "level": 0.8}
    ctx = reliability_context(d)
    assert "自助法重抽样500次，随机种子由评议轮次编号导出（round id 2026-10）" in ctx["closing"]
    assert "抽签种子" not in ctx["closing"]
    assert "80%置信区间为第" in ctx["bottom_sentences"][2] and "80%置信区间" in ctx["chart"]


def test_a_bottom_unit_without_engine_numbers_still_gets_a_sentence() -> None:
    unit = {"code": "X", "name": "某单位", "rank_overall": 90, "status": "ranked"}
    assert bottom_sentence(unit, {}, {}, "五") == "某单位：综合第90名。"
    tied = bottom_sentence(unit, {"bottom_confidence": {"X": "tied"}}, {}, "五")
    assert "尚不能确定" in tied


# --- the section in the document --------------------------------------------------------------


def headings(html: str) -> list[str]:
    return re.findall(r"<h2>(.*?)</h2>", html)


def test_no_reliability_no_section_and_nothing_else_changes() -> None:
    plain = make_doc()
    with_none = make_doc()
    with_none["reliability"] = None
    assert reliability_context(with_none) is None
    html = render_html(with_none)
    assert html == render_html(plain)
    assert headings(html) == ["一、参与情况", "二、各系统排名", "三、综合排名前十名和后五名",
                              "四、一票否决单位", "五、评议中反映的问题", "六、评议规则"]  # fmt: skip
    assert "可靠性" not in html
    assert "可靠性" not in load_workbook(BytesIO(render_xlsx(with_none))).sheetnames


def test_the_section_comes_last_and_escapes_names(doc) -> None:
    d = copy.deepcopy(doc)
    d["ranking"]["units"][-1]["name"] = "<b>县司法局</b>&司法所"  # SF-30 has no rank
    code = d["ranking"]["units"][-1]["code"]
    d["reliability"]["tied_with"]["SF-12"] = [code, *TIED_SF12]
    html = render_html(d)
    assert headings(html)[:6] == headings(render_html(make_doc()))
    assert headings(html)[6:] == ["七、评议结果可靠性说明"]
    assert "<b>县司法局</b>" not in html and "&lt;b&gt;县司法局&lt;/b&gt;&amp;司法所" in html
    assert "图2　综合排名靠后单位" in html  # after the score chart (图1); no history here


@pytest.fixture(scope="module")
def pdf_text(doc: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("reliability") / "circular.pdf"
    path.write_bytes(render_pdf(doc))
    return path, pdftotext(path)


def test_the_pdf_prints_the_section_sentences_and_chart(pdf_text, context, names) -> None:
    path, text = pdf_text
    flat = without_spaces(re.sub(r"—\s*\d+\s*—", "", text))  # page numbers split sentences
    section = flat[flat.index("七、评议结果可靠性说明") :]
    assert "六、评议规则" in flat[: flat.index("七、评议结果可靠性说明")]
    assert without_spaces(sentence_for(context, names["GA-31"])) in section
    assert without_spaces(sentence_for(context, names["SF-12"])) in section
    assert "本部分为统计参考，不改变上述正式排名结果" in section
    # The chart's own text: names (cut to 12 characters) and the verdict words.
    for code in ("GA-31", "SF-12", "JC-04"):
        assert names[code][:11] in section
    assert "确定" in section and "并列" in section and "后五名分界" in section
    assert SEAT not in flat and TOKEN not in flat
    fonts = subprocess.run(
        ["pdffonts", str(path)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts if "CJK" in line)
    assert any("CJK" in line for line in fonts)


def test_the_xlsx_sheet_has_every_unit_and_the_summary_rows(doc, names) -> None:
    wb = load_workbook(BytesIO(render_xlsx(doc)))
    assert "可靠性" in wb.sheetnames
    ws = wb["可靠性"]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    assert header[:4] == ("单位代码", "单位名称", "所属系统", "得分")
    by_code = {r[0]: r for r in rows[1:] if r and r[0] in names}
    assert set(by_code) == set(names)
    col = {h: i for i, h in enumerate(header)}
    sf12 = by_code["SF-12"]
    assert sf12[col["后五名结论"]] == "并列"
    assert sf12[col["无法区分的单位"]] == "、".join(names[c] for c in TIED_SF12)
    assert sf12[col["进入后五名概率"]] == pytest.approx(0.41)
    p_cell = ws.cell(2 + list(by_code).index("SF-12"), col["进入后五名概率"] + 1)
    assert p_cell.number_format.endswith("%")
    assert by_code["GA-31"][col["后五名结论"]] == "确定"
    assert by_code["GA-14"][col["后五名结论"]] == "确定（一票否决）"
    assert by_code["SF-30"][col["综合名次区间下限"]] is None
    assert by_code["GA-31"][col["综合名次区间下限"] : col["综合名次区间上限"] + 1] == (87, 92)
    flat = [str(v) for r in rows for v in r if v is not None]
    assert "0.71" in flat and "数据不足" in flat and SEED in flat and "2000" in flat
    assert SEAT not in " ".join(flat) and TOKEN not in " ".join(flat)
