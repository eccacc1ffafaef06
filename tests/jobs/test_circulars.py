"""The circular with the real thing: WeasyPrint renders, poppler reads the PDF back."""

from __future__ import annotations

import copy
import logging
import random
import re
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from jobs.circulars.charts import score_distribution_svg
from jobs.circulars.comments import REDACTED, redact
from jobs.circulars.render import (
    CIRCULAR_DIR,
    AssetRefused,
    TemplateAssetFetcher,
    html_to_pdf,
    render_html,
    render_pdf,
)
from jobs.circulars.xlsx import render_xlsx

TOWNS = [
    "城关", "河口", "石门", "青山", "龙潭", "白沙", "枫林", "桃源", "杨柳", "金鸡", "马坪",
    "双江", "黄土岭", "新塘", "清水", "高峰", "柏树垭", "东湖", "西岭", "南山", "北港",
]  # fmt: skip

SYSTEM_UNITS = {
    "法院": ("FY", "县人民法院", [
        "立案庭", "刑事审判庭", "民事审判第一庭", "民事审判第二庭", "行政审判庭", "审判监督庭",
        "执行局", "执行指挥中心", "少年家事审判庭", "诉讼服务中心", "司法警察大队", "办公室",
        "政治部", *(f"{t}人民法庭" for t in TOWNS[:7])]),
    "检察院": ("JC", "县人民检察院", [
        *(f"第{n}检察部" for n in "一二三四五六七八"), "控告申诉检察部", "案件管理中心",
        "检务督察部", "办公室", "政治部", "司法警察大队", "驻看守所检察室"]),
    "公安局": ("GA", "县公安局", [
        "刑事侦查大队", "治安管理大队", "交通警察大队", "经济犯罪侦查大队", "禁毒大队",
        "网络安全保卫大队", "出入境管理大队", "巡特警大队", "法制大队", "指挥中心", "看守所",
        "拘留所", "户政管理大队", *(f"{t}派出所" for t in TOWNS[:20])]),
    "司法局": ("SF", "县司法局", [
        "公共法律服务中心", "社区矫正管理局", "人民参与和促进法治股", "律师工作股",
        "普法与依法治理股", "行政执法协调监督股", "法律援助中心", "公证处", "办公室",
        *(f"{t}司法所" for t in TOWNS)]),
}  # fmt: skip

RULES = {
    "scale": {"满意": 100, "基本满意": 70, "不满意": 30},
    "no_vote": ["不了解"],
    "numeric_range": [0, 100],
    "numeric_factor": 1,
    "criteria": [{"name": "总体", "weight": 1}],
    "min_coverage": "0.5",
    "quorum": "2/3",
    "min_votes": 10,
    "trim_min_n": 7,
    "trim": 1,
    "group_weights": {},
    "top": 10,
    "bottom": 5,
    "cross_system": "raw",
    "monthly_weight": "0.7",
    "satisfied_label": "满意",
    "dissatisfied_label": "不满意",
}

XSS = "<script>alert(1)</script>立案窗口排队时间长"
PHONE = "13812345678"
LANDLINE = "0731-12345678"
ID_NUMBER = "43010219900101123X"
TWO_COMMENTS = ["仅两条意见之甲：窗口工作人员态度一般", "仅两条意见之乙：电话无人接听"]
VETO_REASON = "民警违规插手经济纠纷，造成恶劣社会影响，经县纪委监委查实"


def _ranked(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order of SPEC §2.4: score, 满意 share, 不满意 share, untrimmed mean, votes; vetoed last."""
    return sorted(
        units,
        key=lambda u: (
            u["status"] == "vetoed",
            -u["score"],
            -u["satisfied_share"],
            u["dissatisfied_share"],
            -u["mean"],
            -u["votes"],
        ),
    )


def make_doc(valid: bool = True, seed: int = 20261103) -> dict[str, Any]:
    """A realistic monthly round: 98 units in 4 systems, 2 vetoes, 3 insufficient units."""
    rng = random.Random(seed)
    units = []
    for system, (prefix, org, sections) in SYSTEM_UNITS.items():
        for i, section in enumerate(sections, start=1):
            votes = rng.randint(78, 93)
            sat = round(rng.uniform(0.45, 0.95), 4)
            score = round(rng.uniform(68, 97), 2)
            units.append(
                {
                    "code": f"{prefix}-{i:02d}",
                    "name": f"{org}{section}",
                    "system": system,
                    "score": score,
                    "votes": votes,
                    "status": "ranked",
                    "rank_in_system": None,
                    "rank_overall": None,
                    "satisfied_share": sat,
                    "dissatisfied_share": round(rng.uniform(0, 1 - sat), 4),
                    "mean": round(score + rng.uniform(-0.8, 0.8), 2),
                }
            )
    assert len(units) == 98
    by_code = {u["code"]: u for u in units}
    for code in ("SF-21", "SF-25", "JC-15"):
        by_code[code].update(status="insufficient", votes=rng.randint(4, 9))
    by_code["SF-30"].update(status="insufficient", votes=0, score=None, mean=None,
                            satisfied_share=None, dissatisfied_share=None)  # fmt: skip
    for code in ("GA-14", "FY-08"):
        by_code[code]["status"] = "vetoed"

    rankable = [u for u in units if u["status"] != "insufficient"]
    for rank, u in enumerate(_ranked(rankable), start=1):
        u["rank_overall"] = rank
    for system in SYSTEM_UNITS:
        members = [u for u in rankable if u["system"] == system]
        for rank, u in enumerate(_ranked(members), start=1):
            u["rank_in_system"] = rank
    order = _ranked(rankable)
    top = [u["code"] for u in order if u["status"] != "vetoed"][:10]
    bottom = [u["code"] for u in reversed(order)][:5]

    seats = 100
    valid_ballots = 93 if valid else 61
    return {
        "round": {"id": "2026-10", "kind": "monthly", "period": "2026年10月",
                  "opens_at": "2026-10-01T00:00:00+08:00", "closes_at": "2026-10-31T18:00:00+08:00"},
        "issuer": {"body": "清河县委政法委员会", "doc_number": "清政法评〔2026〕10号",
                   "date": "2026年11月3日", "title": "关于2026年10月全县政法系统民主评议结果的通报",
                   "recipients": "各政法单位：", "cc": "县委、县人大常委会、县政府、县政协"},
        "ranking": {"round": "2026-10", "kind": "monthly", "valid": valid,
                    "participation": {"seats": seats, "ballots": 96, "valid_ballots": valid_ballots},
                    "units": units, "top": top, "bottom": bottom, "vetoed": ["FY-08", "GA-14"]},
        "systems": list(SYSTEM_UNITS),
        "vetoes": [
            {"unit": "GA-14", "reason": VETO_REASON, "by": "县委政法委", "at": "2026-10-30T10:00:00+08:00"},
            {"unit": "FY-08", "reason": "执行案款未按规定及时发放，群众多次信访", "by": None,
             "at": "2026-10-28T15:30:00+08:00"},
        ],
        "comments": {
            "FY-01": [XSS, f"联系电话{PHONE}一直打不通", f"身份证号{ID_NUMBER}被登记错误",
                      f"办公电话{LANDLINE}无人接听", "希望延长周末立案时间"],
            "GA-15": ["出警速度快，值得表扬", "户籍窗口材料要求不一致", "夜间值班电话无人接"],
            "SF-10": ["调解及时", "法律援助宣传不够", "司法所人员偏少，工作量大", "  "],
            "JC-01": TWO_COMMENTS,
        },
        "rules": copy.deepcopy(RULES),
        "audit_hash": "9f2c1e7a4b8d3f60e5a1c2b3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607",
        "generated_at": "2026-11-03T09:00:00+08:00",
    }  # fmt: skip


def _pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def _flat(text: str) -> str:
    """Text without whitespace: table cells and wrapped lines are spread out by ``-layout``."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return make_doc()


@pytest.fixture(scope="module")
def pdf_path(doc: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("circular") / "2026-10.pdf"
    path.write_bytes(render_pdf(doc))
    return path


@pytest.fixture(scope="module")
def pdf_text(pdf_path: Path) -> str:
    return _pdftotext(pdf_path)


def test_every_unit_name_appears_in_the_pdf(doc: dict[str, Any], pdf_text: str) -> None:
    flat = _flat(pdf_text)
    missing = [u["name"] for u in doc["ranking"]["units"] if u["name"] not in flat]
    assert missing == []
    assert "清政法评〔2026〕10号" in pdf_text
    assert "关于2026年10月全县政法系统民主评议结果的通报" in flat


def test_scores_have_two_decimals_and_a_missing_score_shows_a_dash(doc, pdf_text) -> None:
    lines = [line for line in pdf_text.splitlines() if "县人民法院立案庭" in line]
    assert f"{doc['ranking']['units'][0]['score']:.2f}" in lines[0]
    name = next(u["name"] for u in doc["ranking"]["units"] if u["score"] is None)
    no_score = next(line for line in pdf_text.splitlines() if name in line)
    assert "—" in no_score and "票数不足" in no_score


def test_top_bottom_and_veto_sections_with_reasons(doc, pdf_text) -> None:
    flat = _flat(pdf_text)
    for heading in ("一、参与情况", "二、各系统排名", "三、综合排名前十名和后五名",
                    "综合排名前十名", "综合排名后五名", "四、一票否决单位",
                    "五、评议中反映的问题", "六、评议规则"):  # fmt: skip
        assert heading in flat
    assert VETO_REASON in flat
    assert "执行案款未按规定及时发放，群众多次信访" in flat
    bottom_part = flat[flat.index("综合排名后五名") : flat.index("四、一票否决单位")]
    by_code = {u["code"]: u for u in doc["ranking"]["units"]}
    top_part = flat[flat.index("（一）综合排名前十名") : flat.index("（二）综合排名后五名")]
    for code in doc["ranking"]["top"]:
        assert by_code[code]["name"] in top_part
    for code in doc["ranking"]["bottom"]:
        assert by_code[code]["name"] in bottom_part
    assert "一票否决" in bottom_part


def test_page_numbers_are_dashed_and_the_quorum_is_stated(pdf_text: str) -> None:
    assert "— 1 —" in pdf_text
    assert "— 2 —" in pdf_text
    assert "本次评议未达有效票数" not in _flat(pdf_text)
    assert "评议结果有效" in _flat(pdf_text)


def test_markup_in_a_comment_is_printed_as_text(doc: dict[str, Any], pdf_text: str) -> None:
    html = render_html(doc)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert XSS in _flat(pdf_text)


def test_phone_and_id_numbers_in_comments_are_redacted(pdf_text: str) -> None:
    flat = _flat(pdf_text)
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


def test_a_unit_with_two_comments_shows_none(doc, pdf_text) -> None:
    flat = _flat(pdf_text)
    for text in TWO_COMMENTS:
        assert _flat(text) not in flat
    assert "出警速度快，值得表扬" in flat  # three comments: shown
    assert TWO_COMMENTS[0] in render_html(doc, comment_threshold=2)


def test_comment_order_carries_no_information(doc: dict[str, Any]) -> None:
    shuffled = copy.deepcopy(doc)
    for texts in shuffled["comments"].values():
        random.Random(7).shuffle(texts)
    shuffled["comments"] = dict(reversed(list(shuffled["comments"].items())))
    assert render_html(shuffled) == render_html(doc)


def test_a_cjk_font_is_embedded(pdf_path: Path) -> None:
    fonts = subprocess.run(
        ["pdffonts", str(pdf_path)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    cjk = [line for line in fonts if "CJK" in line]
    assert cjk
    # columns: name type encoding emb sub uni object ID
    assert all(line.split()[-5] == "yes" for line in cjk)


def test_an_invalid_round_is_marked_prominently(tmp_path: Path) -> None:
    doc = make_doc(valid=False)
    path = tmp_path / "invalid.pdf"
    path.write_bytes(render_pdf(doc))
    text = _pdftotext(path)
    first_page = _flat(text.split("\f")[0])
    assert "本次评议未达有效票数" in first_page
    assert "有效评议表61份" in first_page
    # The running header repeats the notice on every later page.
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) > 2
    assert all("未达有效票数" in _flat(p) for p in pages)


def test_xlsx_has_the_same_scores_as_the_pdf(doc: dict[str, Any], pdf_text: str) -> None:
    wb = load_workbook(BytesIO(render_xlsx(doc)))
    assert wb.sheetnames == [
        "总表", "法院", "检察院", "公安局", "司法局", "前十名", "后五名", "一票否决", "参与情况", "评议规则",
    ]  # fmt: skip
    rows = list(wb["总表"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 98
    expected = {u["code"]: u["score"] for u in doc["ranking"]["units"]}
    flat_lines = {_flat(line) for line in pdf_text.splitlines()}
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


def test_fonts_are_subset_with_harfbuzz_not_fonttools(
    doc: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        render_pdf(doc)
    assert not [r for r in caplog.records if "fontTools" in r.getMessage()]


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


def test_optional_issuer_texts_may_be_missing(doc: dict[str, Any]) -> None:
    sparse = copy.deepcopy(doc)
    del sparse["issuer"]["cc"]
    sparse["round"]["opens_at"] = sparse["round"]["closes_at"] = None
    html = render_html(sparse)
    assert "抄送" not in html
    assert "评议时间为" not in html


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
