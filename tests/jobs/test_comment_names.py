"""Pool members' names never reach a circular (issue #14): a comment that names its writer or
another member is printed with the name hidden, in the PDF and in the XLSX, while the database
keeps the comment as written. Two-character names are hidden only where they stand as a name
(docs/circulars.md, "Comments"), so ordinary words that contain one survive."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from jobs.circulars.comments import REDACTED, redact_names, strip_tags
from tests.jobs.circular_document import pdftotext, without_spaces
from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import GROUP, SMALL

NAMES = ["陈伟", "王平", "高峰", "欧阳明华", "李建国"]
H = REDACTED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我是评委陈伟，窗口态度差", f"我是评委{H}，窗口态度差"),
        ("评委王平反映办事慢", f"评委{H}反映办事慢"),
        ("签名：王平", f"签名：{H}"),
        ("——陈伟", f"——{H}"),
        ("欧阳明华说电话打不通", f"{H}说电话打不通"),  # four characters: anywhere
        ("民警李建国态度好", f"民警{H}态度好"),  # three characters: anywhere
        ("<b>李建</b>国同志", f"{H}同志"),  # markup cannot split a name
        ("小王平时不在岗", "小王平时不在岗"),  # 王平 inside words: not a name here
        ("高峰期排队两小时", "高峰期排队两小时"),
        ("陈伟明说", "陈伟明说"),  # a longer name that is no member's
    ],
)  # fmt: skip
def test_names_are_hidden_where_they_stand_as_names(text: str, expected: str) -> None:
    assert redact_names([text], NAMES) == [expected]


def test_without_names_only_markup_goes() -> None:
    assert redact_names(["<i>办事慢</i>"], []) == ["办事慢"]
    assert strip_tags("<b>回复敷衍</b>&amp;<script>x()</script>") == "回复敷衍&"


def test_pool_names_are_hidden_in_the_pdf_and_xlsx_but_kept_in_the_database(
    migrated_db_url: str, tmp_path: Path
) -> None:
    units = {"A": "法院", "B": "法院", "C": "公安局", "D": "公安局"}
    members = {f"P{i}": GROUP for i in range(1, 6)}
    ev = Evaluation(migrated_db_url, tmp_path, units, members, rules=SMALL)
    pool = tmp_path / "pool-names.csv"
    rows = [f"P{i},{name},{GROUP}\n" for i, name in enumerate(NAMES, start=1)]
    pool.write_text("id,name,group\n" + "".join(rows), encoding="utf-8")
    ev.cli("import", "pool", str(pool))
    comments = [
        "我是评委陈伟，<b>回复敷衍</b>",
        "评委王平：窗口态度差",
        "欧阳明华反映电话13812345678打不通",
        "小王平时不在岗",
        "李建国同志多次催办无果",
    ]
    ev.ingest(
        ev.ballot(f"P{i}", dict.fromkeys(units, "满意"), comments={"A": text})
        for i, text in enumerate(comments, start=1)
    )
    pdf, xlsx = tmp_path / "c.pdf", tmp_path / "c.xlsx"
    ev.cli("circular", ev.round, "-o", str(pdf), "--xlsx", str(xlsx), "--date", "2026-11-03")

    printed = without_spaces(pdftotext(pdf))
    wb = load_workbook(xlsx)
    sheet = [str(c.value) for row in wb["评议意见"].iter_rows() for c in row if c.value]
    expected = [
        f"我是评委{H}，回复敷衍",
        f"评委{H}：窗口态度差",
        f"{H}反映电话{H}打不通",
        "小王平时不在岗",
        f"{H}同志多次催办无果",
    ]
    for text in expected:
        assert text in printed and text in sheet
    everything = printed + " ".join(sheet)
    for secret in ("陈伟", "欧阳明华", "李建国", "评委王平", "13812345678", "<b>"):
        assert secret not in everything
    raw = _stored_comments(ev.db_url)
    assert sorted(raw) == sorted(comments)


def _stored_comments(db_url: str) -> list[str]:
    from service.store.ballots import counted_comments
    from service.store.engine import make_engine, session_scope

    with session_scope(make_engine(db_url)) as s:
        return [text for _unit, text, _token in counted_comments(s, "2026-10")]
