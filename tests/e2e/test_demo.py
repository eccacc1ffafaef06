"""The demo month end to end: the files it writes, read back as a reader would."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from service.cli import main
from service.cli.demo import ROUND, VETOED_UNIT
from service.cli.demo_county import county_units
from tests.harness.run_directory import locked, run_directory


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pingyi demo`` run once per test run (by the first test process that needs it), its
    output checked by every process."""
    with locked(run_directory(tmp_path_factory), "demo") as shared:
        out, printed = shared / "demo", shared / "demo.out"
        if not printed.exists():
            result = CliRunner().invoke(main, ["demo", "-o", str(out)], catch_exceptions=False)
            assert result.exit_code == 0, result.output
            printed.write_text(result.output, encoding="utf-8")
    output = printed.read_text(encoding="utf-8")
    for name in (f"circular-{ROUND}.pdf", f"circular-{ROUND}.xlsx", f"circular-{ROUND}.json"):
        assert f"  {out / name}\n" in output
    assert "rejected 2" in output  # the forwarded link and the late ballot
    return out


def pdf_text(path: Path, layout: bool = True) -> str:
    """pdftotext's text; reading order (layout=False) keeps a wrapped table cell together."""
    args = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def test_demo_circular_names_every_unit_and_embeds_a_cjk_font(demo_dir: Path) -> None:
    pdf = demo_dir / f"circular-{ROUND}.pdf"
    text = pdf_text(pdf)
    compact = "".join(pdf_text(pdf, layout=False).split())
    missing = [u.name for u in county_units() if u.name not in compact]
    assert missing == []
    assert "— 1 —" in text
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], check=True, capture_output=True, text=True
    ).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes " in f" {line} " for line in cjk)
    assert pdf.stat().st_size <= 2 * 1024 * 1024


def test_demo_ranking_puts_the_vetoed_unit_last(demo_dir: Path) -> None:
    data = json.loads((demo_dir / f"circular-{ROUND}.json").read_text(encoding="utf-8"))
    ranking = data["ranking"]
    assert ranking["valid"] is True
    assert ranking["participation"] == {"seats": 100, "ballots": 96, "valid_ballots": 94}
    vetoed = next(u for u in ranking["units"] if u["code"] == VETOED_UNIT)
    ranked = [u for u in ranking["units"] if u["rank_overall"] is not None]
    assert vetoed["status"] == "vetoed"
    assert vetoed["rank_overall"] == max(u["rank_overall"] for u in ranked)
    assert ranking["vetoed"] == [VETOED_UNIT] and ranking["bottom"][0] == VETOED_UNIT
    assert VETOED_UNIT not in ranking["top"] and len(ranking["top"]) >= 10
    assert len(ranking["units"]) == len(county_units())
    assert len(data["audit_hash"]) == 64


def test_demo_xlsx_has_the_same_scores_as_the_json(demo_dir: Path) -> None:
    data = json.loads((demo_dir / f"circular-{ROUND}.json").read_text(encoding="utf-8"))
    scores = {u["code"]: u["score"] for u in data["ranking"]["units"]}
    book = openpyxl.load_workbook(demo_dir / f"circular-{ROUND}.xlsx", read_only=True)
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    code_col = next(i for i, h in enumerate(header) if h and ("编码" in str(h) or "代码" in str(h)))
    score_col = next(i for i, h in enumerate(header) if h and "得分" in str(h))
    seen = {row[code_col]: row[score_col] for row in rows[1:] if row[code_col] in scores}
    assert seen == scores


def test_demo_pdf_keeps_evaluators_anonymous(demo_dir: Path) -> None:
    text = "".join(pdf_text(demo_dir / f"circular-{ROUND}.pdf", layout=False).split())
    panel = json.loads((demo_dir / "panel.json").read_text(encoding="utf-8"))
    pool = (demo_dir / "pool.csv").read_text(encoding="gb18030").splitlines()[1:]
    names = {line.split(",")[1] for line in pool}
    assert not [s["token"] for s in panel["seats"] if s["token"] in text]
    # Names of three characters or more are distinctive enough to search for.
    assert not [n for n in names if len(n) >= 3 and n in text]
    assert "13812345678" not in text and "430102198803154417" not in text
