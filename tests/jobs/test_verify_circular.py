"""Anyone can recompute a circular (issue #15, docs/verify.md): hand-built rounds published
through the CLI on a real database, then checked by ``pingyi verify-circular`` from the JSON
alone, and tampered with.

Round A (rules: min_votes 3, top 2, bottom 2; seven evaluators):

| unit | system | votes | score | why it is here |
|---|---|---|---|---|
| U1 | 法院 | 满意×4, 基本满意×2, 不满意×1 | (4·100 + 2·70 + 30 − 100 − 30)/5 = 88.00 | trimming at exactly 7 votes |
| U2 | 法院 | 满意×3, 基本满意×4 | 410/5 = 82.00 | ties U3 … |
| U3 | 公安局 | 满意×3, 基本满意×4 | 82.00 | … at the top-list cut: both in |
| U4 | 公安局 | 满意×7, vetoed | 100.00 | last, heads the bottom list |
| U5 | 公安局 | 基本满意×7 | 70.00 | |
| U6 | 法院 | 满意, 不满意 (five 不了解) | 65.00 | insufficient, histogram still shown |
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import GROUP
from tests.jobs.test_verify_demo import run_listing

MEMBERS = [f"P{i}" for i in range(1, 8)]
S, B, D, X = "满意", "基本满意", "不满意", "不了解"
ROUND_A = {
    "U1": ("法院", [S, S, S, S, B, B, D]),
    "U2": ("法院", [S, S, S, B, B, B, B]),
    "U3": ("公安局", [S, S, S, B, B, B, B]),
    "U4": ("公安局", [S] * 7),
    "U5": ("公安局", [B] * 7),
    "U6": ("法院", [S, D, X, X, X, X, X]),
}
RULES_A = {"min_votes": 3, "top": 2, "bottom": 2}


def publish(ev: Evaluation, tmp_path: Path, xlsx: bool = False) -> tuple[Path, Path]:
    """``pingyi circular`` with its JSON (and XLSX): the files a reader gets."""
    pdf, data = tmp_path / f"c-{ev.round}.pdf", tmp_path / f"c-{ev.round}.json"
    extra = ["--xlsx", str(tmp_path / f"c-{ev.round}.xlsx")] if xlsx else []
    ev.cli("circular", ev.round, "-o", str(pdf), "--json", str(data), *extra)
    return data, pdf


def verify(ev: Evaluation, data: Path, *extra: str) -> tuple[int, str]:
    out = ev.cli("verify-circular", str(data), *extra, ok=None)
    return ev.cli.exit_code, out


def tampered(data: Path, change) -> Path:
    doc = json.loads(data.read_text(encoding="utf-8"))
    change(doc)
    path = data.with_name("tampered-" + data.name)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def unit(doc: dict[str, Any], code: str) -> dict[str, Any]:
    return next(u for u in doc["ranking"]["units"] if u["code"] == code)


@pytest.fixture
def round_a(migrated_db_url: str, tmp_path: Path) -> Evaluation:
    units = {code: system for code, (system, _) in ROUND_A.items()}
    ev = Evaluation(migrated_db_url, tmp_path, units, dict.fromkeys(MEMBERS, GROUP), rules=RULES_A)
    ev.ingest(
        ev.ballot(p, {code: column[i] for code, (_, column) in ROUND_A.items()})
        for i, p in enumerate(MEMBERS)
    )
    ev.veto("U4")
    return ev


def test_round_a_verifies_and_carries_its_histograms(round_a: Evaluation, tmp_path: Path) -> None:
    data, pdf = publish(round_a, tmp_path, xlsx=True)
    doc = json.loads(data.read_text(encoding="utf-8"))
    ranking, evidence = doc["ranking"], doc["evidence"]
    # The round really has what it is meant to test.
    assert ranking["top"] == ["U1", "U2", "U3"] and ranking["bottom"] == ["U4", "U5"]
    assert (unit(doc, "U1")["score"], unit(doc, "U6")["status"]) == (88.0, "insufficient")
    assert evidence["units"]["U1"] == {
        "histogram": {"100": 4, "70": 2, "30": 1},
        "labels": {S: 4, B: 2, D: 1, "numeric": 0},
    }
    assert evidence["units"]["U6"]["histogram"] == {"100": 1, "30": 1}
    assert evidence["vetoes"] == ["U4"] and evidence["histograms"] == "pooled"
    assert verify(round_a, data) == (0, "match\n")
    assert verify(round_a, data, "--pdf", str(pdf)) == (0, "match\n")
    done = run_listing(tmp_path, data)  # docs/verify.md's listing agrees
    assert (done.returncode, done.stdout) == (0, "match\n"), done.stderr
    # The XLSX carries the same histograms on a sheet of their own.
    sheet = openpyxl.load_workbook(tmp_path / "c-2026-10.xlsx")["票数分布"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]}
    assert rows["U1"][3:10] == ("全体", 7, "100×4；70×2；30×1", 4, 2, 1, 0)


def test_no_token_or_ballot_identity_in_the_evidence(round_a: Evaluation, tmp_path: Path) -> None:
    data, _ = publish(round_a, tmp_path)
    text = data.read_text(encoding="utf-8")
    assert not [t for t in round_a.tokens.values() if t in text]
    assert not [m for m in MEMBERS if f"{m}委员" in text]
    evidence = json.loads(text)["evidence"]
    assert {k for u in evidence["units"].values() for k in u} == {"histogram", "labels"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: unit(d, "U2").update(score=82.01), "U2 score: the file says 82.01, recomputed 82"),
        (lambda d: d["evidence"]["units"]["U1"]["histogram"].update({"100": 5}),
         "U1 votes: the file says 7, recomputed 8"),
        (lambda d: d["ranking"]["top"].append("U4"), "top: the file says ['U1', 'U2', 'U3', 'U4']"),
        (lambda d: d["evidence"]["vetoes"].clear(), "U4 status: the file says vetoed, recomputed ranked"),
    ],
    ids=["score-off-by-a-cent", "histogram-count", "vetoed-into-top", "veto-decision-dropped"],
)  # fmt: skip
def test_a_tampered_round_a_is_caught(
    round_a: Evaluation, tmp_path: Path, change, expected
) -> None:
    data, pdf = publish(round_a, tmp_path)
    bad = tampered(data, change)
    code, out = verify(round_a, bad)
    assert code == 1 and out.startswith(expected), out
    # And the PDF no longer names the file.
    code, out = verify(round_a, bad, "--pdf", str(pdf))
    assert code == 1 and "SHA-256" in out and "prints" in out, out


def test_weighted_criteria_and_numbers_give_exact_fractions(
    migrated_db_url: str, tmp_path: Path
) -> None:
    """作风 weighs 2, 效能 1: (2·30 + 87.5)/3 = 295/6 has no finite decimal; 87.5 alone is a
    numeric answer on one criterion; zscore across two systems."""
    rules = {"min_votes": 3, "top": 2, "bottom": 1, "cross_system": "zscore",
             "criteria": [{"name": "作风", "weight": 2}, {"name": "效能", "weight": 1}]}  # fmt: skip
    units = {"V1": "法院", "V2": "法院", "V3": "公安局", "V4": "公安局"}
    ev = Evaluation(migrated_db_url, tmp_path, units, dict.fromkeys(MEMBERS, GROUP), rules=rules)
    answers = [
        {"作风": D, "效能": 87.5},
        {"作风": S, "效能": B},
        {"作风": 87.5},
        {"作风": B, "效能": 63},
        {"作风": S, "效能": S},
        {"作风": X, "效能": 90},
        {"作风": B, "效能": D},
    ]
    ev.ingest(
        ev.ballot(p, {u: answers[(i + j) % 7] for j, u in enumerate(units)})
        for i, p in enumerate(MEMBERS)
    )
    data, _ = publish(ev, tmp_path)
    doc = json.loads(data.read_text(encoding="utf-8"))
    v1 = doc["evidence"]["units"]["V1"]
    assert {"295/6", "87.5", "90"} <= set(v1["histogram"])
    assert v1["labels"]["numeric"] == 4 and sum(v1["labels"].values()) == 12
    assert sum(v1["histogram"].values()) == 7
    assert verify(ev, data) == (0, "match\n")
    bad = tampered(data, lambda d: d["evidence"]["units"]["V1"]["labels"].update({S: 4}))
    code, out = verify(ev, bad)
    assert code == 1 and out.startswith("V1 satisfied_share"), out


def _grouped(db: str, tmp_path: Path, b_members: int) -> tuple[Evaluation, Path]:
    """Group weights A 2, B 1: three A members, ``b_members`` B members."""
    members = {**{f"A{i}": "人大代表" for i in range(1, 4)},
               **{f"B{i}": "政协委员" for i in range(1, b_members + 1)}}  # fmt: skip
    rules = {"min_votes": 3, "group_weights": {"人大代表": 2, "政协委员": 1}}
    ev = Evaluation(db, tmp_path, {"W1": "法院", "W2": "法院"}, members, rules=rules)
    ev.ingest(
        ev.ballot(m, {"W1": S if m[0] == "A" else D, "W2": [S, B, D, 77][i % 4]})
        for i, m in enumerate(members)
    )
    data, _ = publish(ev, tmp_path)
    return ev, data


def test_group_weights_carry_per_group_histograms(migrated_db_url: str, tmp_path: Path) -> None:
    """W1: A all 满意 (100), B all 不满意 (30): (2·100 + 30)/3 = 230/3 → 76.67, which no pooled
    histogram gives (the pooled mean is 65)."""
    ev, data = _grouped(migrated_db_url, tmp_path, 3)
    doc = json.loads(data.read_text(encoding="utf-8"))
    w1 = doc["evidence"]["units"]["W1"]
    assert w1["histograms"] == {"人大代表": {"100": 3}, "政协委员": {"30": 3}}
    assert unit(doc, "W1")["score"] == 76.67 and doc["evidence"]["withheld"] is None
    assert verify(ev, data) == (0, "match\n")
    done = run_listing(tmp_path, data)  # the listing's group-weights branch
    assert (done.returncode, done.stdout) == (0, "match\n"), done.stderr
    bad = tampered(data, lambda d: d["evidence"]["units"]["W1"]["histograms"].update(
        {"人大代表": {"100": 2, "30": 1}, "政协委员": {"100": 1, "30": 2}}))  # fmt: skip
    code, out = verify(ev, bad)
    assert code == 1 and out.startswith("W1 score: the file says 76.67"), out


def test_a_group_of_two_has_its_histograms_withheld(migrated_db_url: str, tmp_path: Path) -> None:
    """Two 政协委员: a per-group histogram would show each of them the other's votes. The file
    keeps the pooled histogram only, says why, and the check says the scores were taken as
    published."""
    ev, data = _grouped(migrated_db_url, tmp_path, 2)
    evidence = json.loads(data.read_text(encoding="utf-8"))["evidence"]
    assert evidence["histograms"] == "pooled" and "政协委员" in evidence["withheld"]
    assert evidence["units"]["W1"] == {
        "histogram": {"100": 3, "30": 2},
        "labels": {S: 3, B: 0, D: 2, "numeric": 0},
    }
    code, out = verify(ev, data)
    assert code == 0 and out.startswith("match\nnote: scores taken as published"), out


def test_the_recomputation_shares_no_code_with_the_scoring() -> None:
    """docs/verify.md: jobs/circulars/verify.py is written again from the rules, so a bug in
    jobs/scoring.py, jobs/ranks.py or jobs/summary.py is caught rather than repeated."""
    import ast

    import jobs.circulars.verify as recomputation

    tree = ast.parse(Path(recomputation.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "dataclasses", "decimal", "fractions", "math", "typing"}
