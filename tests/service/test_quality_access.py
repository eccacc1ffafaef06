"""The reliability report through the command line and the API (docs/reliability.md): the
public numbers in the ranking for anyone who may read it, the per-ballot flags for admins only,
and nothing that points at an evaluator in a circular."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.jobs.circular_document import pdftotext, without_spaces
from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import GROUP, SMALL

UNITS = {f"U{i:02d}": "法院" if i % 2 else "公安局" for i in range(24)}
PANEL = [f"P{i:02d}" for i in range(14)]


@pytest.fixture
def month(migrated_db_url: str, tmp_path: Path) -> Evaluation:
    """Fourteen evaluators; P00 answers 满意 to everything, P02 hands in P01's answers."""
    ev = Evaluation(migrated_db_url, tmp_path, UNITS, dict.fromkeys(PANEL, GROUP),
                    rules={**SMALL, "min_votes": 3})  # fmt: skip
    labels = ["满意", "基本满意", "不满意"]
    ballots = []
    for n, p in enumerate(PANEL):
        answers = {u: labels[(n + i * 7 + (i * n) % 5) % 3] for i, u in enumerate(UNITS)}
        if p == "P00":
            answers = dict.fromkeys(UNITS, "满意")
        if p == "P02":
            answers = {u: labels[(1 + i * 7 + i % 5) % 3] for i, u in enumerate(UNITS)}
        ballots.append(ev.ballot(p, answers, rid=f"r-{p}"))
    ev.ingest(ballots)
    return ev


def test_rank_json_has_the_uncertainty_and_quality_lists_the_flags(month: Evaluation) -> None:
    ranked = month.cli.json("rank", month.round)
    assert ranked["bootstrap"] == {"b": 2000, "seed": f"round id {month.round}", "level": 0.9}
    assert set(ranked["bottom_confidence"]) == set(ranked["bottom"])
    for unit in ranked["units"]:
        lo, hi = unit["uncertainty"]["rank_overall"]
        assert lo <= unit["rank_overall"] <= hi and 0 <= unit["uncertainty"]["p_bottom"] <= 1
    assert month.cli.json("rank", month.round) == ranked  # stored: the same bytes again
    flags = month.cli.json("quality", month.round)
    kinds = {(f["kind"], f["evaluator"]) for f in flags["flags"]}
    assert ("straight_line", "P00") in kinds
    assert any(f["kind"] == "near_duplicate" and f["evaluator"] in ("P01", "P02")
               for f in flags["flags"])  # fmt: skip
    assert flags["counts"]["straight_line"] == 1 and flags["counts"]["ballots"] == 14
    text = month.cli("quality", month.round)
    assert "flags never void a ballot" in text and "straight_line" in text


def test_viewers_get_the_numbers_admins_the_flags_and_the_circular_no_seat(
    month: Evaluation, tmp_path: Path
) -> None:
    from service.config import load_config
    from service.web.app import create_app

    month.cli("round", "close", month.round)
    out = tmp_path / "c.pdf"
    month.cli("circular", month.round, "-o", str(out), "--json", str(tmp_path / "c.json"))
    viewer = month.cli("token", "create", "--role", "viewer").split()[0]
    admin = month.cli("token", "create", "--role", "admin").split()[0]
    app = create_app(load_config({}, month.cli.config, month.db_url))
    try:
        client = app.test_client()
        as_viewer = {"Authorization": f"Bearer {viewer}"}
        as_admin = {"Authorization": f"Bearer {admin}"}
        ranking = client.get(f"/api/v1/rounds/{month.round}/ranking", headers=as_viewer)
        body = ranking.get_data(as_text=True)
        assert ranking.status_code == 200 and '"p_bottom"' in body and "P00" not in body
        url = f"/api/v1/rounds/{month.round}/quality"
        assert client.get(url, headers=as_viewer).status_code == 403
        flags = client.get(url, headers=as_admin).get_json()
        assert any(f["evaluator"] == "P00" for f in flags["flags"])
    finally:
        app.extensions["pingyi"].engine.dispose()
    text = without_spaces(pdftotext(out))
    assert "七、评议结果可靠性说明" in text and "1份对所有单位选择同一选项" in text
    published = (tmp_path / "c.json").read_text(encoding="utf-8")
    assert '"reliability"' in published and '"flags"' not in published
    for member in PANEL:
        assert member not in text and member not in published
