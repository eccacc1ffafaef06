"""The demo's half year (一月一评议、一季一汇总、半年一总评), read back from the files it wrote:
every summary number recomputed from the constituents' published JSON, and the circulars' words."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

from service.cli.demo import HALF, MONTHS, QUARTERS, VETOED_UNIT
from tests.e2e.test_demo import demo_dir, pdf_text  # noqa: F401 (the shared fixture)


def _load(demo: Path, round_id: str) -> dict:
    return json.loads((demo / f"circular-{round_id}.json").read_text(encoding="utf-8"))


def _half_up(value: Fraction) -> float:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def test_every_round_of_the_half_year_has_its_three_files(demo_dir: Path) -> None:  # noqa: F811
    for round_id in (*MONTHS, *QUARTERS, HALF):
        for ext in ("pdf", "xlsx", "json"):
            assert (demo_dir / f"circular-{round_id}.{ext}").stat().st_size > 1000


def test_summary_scores_follow_from_the_published_constituents(demo_dir: Path) -> None:  # noqa: F811
    """Q = 0.7·M + 0.3·L from the months' published scores and the leaders' score, rounded once;
    H the same over the quarters; a veto anywhere below is carried up."""
    for summary, parts in (*QUARTERS.items(), (HALF, tuple(QUARTERS))):
        data = _load(demo_dir, summary)
        assert [c["id"] for c in data["constituents"]] == list(parts)
        published = {
            p: {u["code"]: u for u in _load(demo_dir, p)["ranking"]["units"]} for p in parts
        }
        for unit in data["ranking"]["units"]:
            scores = [published[p][unit["code"]]["score"] for p in parts]
            scores = [Fraction(str(s)) for s in scores if s is not None]
            mean = sum(scores, Fraction(0)) / len(scores)
            leaders = unit["parts"]["leaders"]
            exact = (
                mean
                if leaders is None
                else Fraction(7, 10) * mean + Fraction(3, 10) * Fraction(str(leaders))
            )
            assert unit["score"] == _half_up(exact), (summary, unit["code"])
            assert unit["parts"]["rounds"] == {
                p: published[p][unit["code"]]["score"] for p in parts
            }
        # October's veto: carried into its quarter and the half year, not into the third quarter.
        carried = summary != "2026-Q3"
        assert (VETOED_UNIT in data["ranking"]["vetoed"]) is carried
        assert (data["ranking"]["bottom"][0] == VETOED_UNIT) is carried
        assert VETOED_UNIT not in data["ranking"]["top"]


def test_the_quarter_reports_movement_measures_and_its_own_number(demo_dir: Path) -> None:  # noqa: F811
    q4 = _load(demo_dir, "2026-Q4")
    assert (
        q4["previous"]["id"] == "2026-Q3" and q4["issuer"]["doc_number"] == "清政法评汇〔2026〕4号"
    )
    carried = [m for m in q4["measures"] if m["carried"]]
    assert carried and any(m["status"] == "done" for m in carried)
    text = "".join(pdf_text(demo_dir / "circular-2026-Q4.pdf", layout=False).split())
    assert "关于2026年第四季度全县政法系统民主评议汇总情况的通报" in text
    assert "较上期" in text and "问题原因分析及整改措施" in text and "【已完成" in text
    assert "图4司法局各单位系统内名次变化（10月至12月）" in text


def test_the_half_year_names_red_flags_accountability_and_the_vetoed_unit(demo_dir: Path) -> None:  # noqa: F811
    h2 = _load(demo_dir, HALF)
    names = {u["code"]: u["name"] for u in h2["ranking"]["units"]}
    text = "".join(pdf_text(demo_dir / f"circular-{HALF}.pdf", layout=False).split())
    assert "清政法评总〔2026〕2号" in text
    first_flag = names[h2["ranking"]["top"][0]]
    assert f"{first_flag}、" in text and "颁发红旗，予以通报表扬" in text
    assert "对其主要负责人作出相应处理" in text
    assert f"{names[VETOED_UNIT]}" in text and "成立专班督查整改" in text
    listed = {m["unit"] for m in h2["measures"]}
    assert listed and listed <= {*h2["ranking"]["bottom"], *h2["ranking"]["vetoed"]}
    # Leaders: the party secretary too at the half year.
    assert h2["ranking"]["participation"]["seats"] == 3
