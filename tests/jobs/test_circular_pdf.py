"""The circular with the real thing: WeasyPrint renders it, poppler reads the PDF back; the
XLSX carries the same scores, and the chart and the issuer texts render as data."""

from __future__ import annotations

import copy
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from openpyxl import load_workbook

from jobs.circulars.charts import score_distribution_svg
from jobs.circulars.render import (
    render_html,
    render_pdf,
)
from jobs.circulars.xlsx import render_xlsx
from tests.jobs.circular_document import (
    VETO_REASON,
    make_doc,
    pdftotext,
    without_spaces,
)


def test_every_unit_name_appears_in_the_pdf(
    circular_doc: dict[str, Any], circular_text: str
) -> None:
    flat = without_spaces(circular_text)
    missing = [u["name"] for u in circular_doc["ranking"]["units"] if u["name"] not in flat]
    assert missing == []
    assert "清政法评〔2026〕10号" in circular_text
    assert "关于2026年10月全县政法系统民主评议结果的通报" in flat


def test_scores_have_two_decimals_and_a_missing_score_shows_a_dash(
    circular_doc, circular_text
) -> None:
    lines = [line for line in circular_text.splitlines() if "县人民法院立案庭" in line]
    assert f"{circular_doc['ranking']['units'][0]['score']:.2f}" in lines[0]
    name = next(u["name"] for u in circular_doc["ranking"]["units"] if u["score"] is None)
    no_score = next(line for line in circular_text.splitlines() if name in line)
    assert "—" in no_score and "票数不足" in no_score


def test_top_bottom_and_veto_sections_with_reasons(circular_doc, circular_text) -> None:
    flat = without_spaces(circular_text)
    for heading in ("一、参与情况", "二、各系统排名", "三、综合排名前十名和后五名",
                    "综合排名前十名", "综合排名后五名", "四、一票否决单位",
                    "五、评议中反映的问题", "六、评议规则"):  # fmt: skip
        assert heading in flat
    assert VETO_REASON in flat
    assert "执行案款未按规定及时发放，群众多次信访" in flat
    bottom_part = flat[flat.index("综合排名后五名") : flat.index("四、一票否决单位")]
    by_code = {u["code"]: u for u in circular_doc["ranking"]["units"]}
    top_part = flat[flat.index("（一）综合排名前十名") : flat.index("（二）综合排名后五名")]
    for code in circular_doc["ranking"]["top"]:
        assert by_code[code]["name"] in top_part
    for code in circular_doc["ranking"]["bottom"]:
        assert by_code[code]["name"] in bottom_part
    assert "一票否决" in bottom_part


def test_page_numbers_are_dashed_and_the_quorum_is_stated(circular_text: str) -> None:
    assert "— 1 —" in circular_text
    assert "— 2 —" in circular_text
    assert "本次评议未达有效票数" not in without_spaces(circular_text)
    assert "评议结果有效" in without_spaces(circular_text)


def test_a_cjk_font_is_embedded(circular_pdf: Path) -> None:
    fonts = subprocess.run(
        ["pdffonts", str(circular_pdf)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    cjk = [line for line in fonts if "CJK" in line]
    assert cjk
    # columns: name type encoding emb sub uni object ID
    assert all(line.split()[-5] == "yes" for line in cjk)


def test_an_invalid_round_is_marked_prominently(tmp_path: Path) -> None:
    doc = make_doc(valid=False)
    path = tmp_path / "invalid.pdf"
    path.write_bytes(render_pdf(doc))
    text = pdftotext(path)
    first_page = without_spaces(text.split("\f")[0])
    assert "本次评议未达有效票数" in first_page
    assert "有效评议表61份" in first_page
    # The running header repeats the notice on every later page.
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) > 2
    assert all("未达有效票数" in without_spaces(p) for p in pages)


def test_xlsx_has_the_same_scores_as_the_pdf(
    circular_doc: dict[str, Any], circular_text: str
) -> None:
    wb = load_workbook(BytesIO(render_xlsx(circular_doc)))
    assert wb.sheetnames == [
        "总表", "法院", "检察院", "公安局", "司法局", "前十名", "后五名", "一票否决", "评议意见", "参与情况",
        "评议规则",
    ]  # fmt: skip
    rows = list(wb["总表"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 98
    expected = {u["code"]: u["score"] for u in circular_doc["ranking"]["units"]}
    flat_lines = {without_spaces(line) for line in circular_text.splitlines()}
    for code, name, _system, score, *_ in rows:
        assert score == expected[code]
        printed = "—" if score is None else f"{score:.2f}"
        assert any(name in line and printed in line for line in flat_lines), name
    assert wb["总表"]["D2"].number_format == "0.00"
    vetoes = list(wb["一票否决"].iter_rows(min_row=2, values_only=True))
    assert [(v[0], v[4]) for v in vetoes] == [
        ("GA-14", VETO_REASON),
        ("FY-08", "执行案款未按规定及时发放，群众多次信访"),
    ]
    assert len(list(wb["前十名"].iter_rows(min_row=2))) == 10


def test_fonts_are_subset_with_harfbuzz_not_fonttools(
    circular_render: tuple[Path, list[str]],
) -> None:
    _, warnings = circular_render  # every warning logged while the sample PDF was rendered
    assert not [m for m in warnings if "fontTools" in m]


def test_optional_issuer_texts_may_be_missing(circular_doc: dict[str, Any]) -> None:
    sparse = copy.deepcopy(circular_doc)
    del sparse["issuer"]["cc"]
    sparse["round"]["opens_at"] = sparse["round"]["closes_at"] = None
    html = render_html(sparse)
    assert "抄送" not in html
    assert "评议时间为" not in html


def test_the_chart_escapes_names_and_names_its_font() -> None:
    units = [
        {"code": "A", "system": "法院<b>&", "score": 90.5, "status": "ranked"},
        {"code": "B", "system": "法院<b>&", "score": 71.25, "status": "vetoed"},
        {"code": "C", "system": "公安局", "score": None, "status": "insufficient"},
    ]
    svg = score_distribution_svg(units, ["法院<b>&", "公安局"])
    root = ElementTree.fromstring(svg)  # well-formed: names are data and were escaped
    ns = {"svg": "http://www.w3.org/2000/svg"}
    texts = root.findall(".//svg:text", ns)
    assert texts and all("Noto Sans CJK SC" in t.get("font-family", "") for t in texts)
    assert "法院<b>&" in [t.text for t in texts]
    title = root.find("svg:title", ns)
    assert title is not None and "中位数" in (title.text or "")
