"""A quarter through the command line and the store, on both databases (docs/rules.md, Summary
rounds): three closed months, a leaders' panel, their ballots, and `rank --json`.

Months (SMALL rules, three seats, each answering alike):

| unit | 2026-07 | 2026-08 | 2026-09 | M | leaders | Q |
|---|---|---|---|---|---|---|
| A | 满意 100 | 基本满意 70 | 满意 100 | 90 | 满意, 满意: 100 | 0.7 × 90 + 0.3 × 100 = 93.00 |
| B | 基本满意 70 | 满意 100 | 满意 100 | 90 | 不满意, 不满意: 30 | 0.7 × 90 + 0.3 × 30 = 72.00 |
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.jobs.circular_document import pdftotext, without_spaces
from tests.jobs.evaluation import Evaluation
from tests.jobs.paper_round import GROUP, SMALL

MONTHS = {
    "2026-07": ("满意", "基本满意"),
    "2026-08": ("基本满意", "满意"),
    "2026-09": ("满意", "满意"),
}
PANEL = ["P1", "P2", "P3"]


@pytest.fixture
def quarter(migrated_db_url: str, tmp_path: Path) -> Evaluation:
    members = {**dict.fromkeys(PANEL, GROUP), "L1": "县领导", "L2": "县领导"}
    ev = Evaluation(migrated_db_url, tmp_path, {"A": "法院", "B": "法院"}, members, rules=SMALL,
                    seats=PANEL)  # fmt: skip
    for month, (a, b) in MONTHS.items():
        ev.new_round(month, f"{month}-01", f"{month}-28", PANEL)
        at = f"{month}-20T10:00:00+08:00"
        ev.ingest(ev.ballot(p, {"A": a, "B": b}, at=at, rid=f"{month}-{p}") for p in PANEL)
    return ev


def create_quarter(ev: Evaluation, *extra: str, ok: bool = True) -> str:
    return ev.cli(
        "round", "create", "2026-Q3", "--kind", "quarterly", "--of", "2026-07,2026-08,2026-09",
        "--opens", "2026-10-01", "--closes", "2026-10-15", *extra, ok=ok,
    )  # fmt: skip


def test_a_quarter_is_ranked_from_its_months_and_its_leaders(quarter: Evaluation, tmp_path) -> None:
    ev = quarter
    for month in MONTHS:
        ev.cli("round", "close", month)
    create_quarter(ev)
    panel = tmp_path / "leaders.txt"
    panel.write_text("L1\nL2\n", encoding="utf-8")
    ev.cli("panel", "set", "2026-Q3", str(panel))
    ev.round = "2026-Q3"
    ev.tokens = {
        s["evaluator"]: s["token"] for s in ev.cli.json("panel", "show", "2026-Q3")["seats"]
    }
    at = "2026-10-10T10:00:00+08:00"
    ev.ingest(ev.ballot(p, {"A": "满意", "B": "不满意"}, at=at, rid=f"q-{p}") for p in ("L1", "L2"))

    ranked = ev.cli.json("rank", "2026-Q3")
    units = {u["code"]: u for u in ranked["units"]}
    assert ranked["kind"] == "quarterly" and ranked["constituents"] == list(MONTHS)
    assert (units["A"]["score"], units["A"]["rank_overall"]) == (93.0, 1)
    assert (units["B"]["score"], units["B"]["rank_overall"]) == (72.0, 2)
    assert units["A"]["parts"] == {
        "rounds": {"2026-07": 100.0, "2026-08": 70.0, "2026-09": 100.0},
        "mean": 90.0,
        "leaders": 100.0,
    }
    assert ranked["participation"] == {"seats": 2, "ballots": 2, "valid_ballots": 2}
    out = tmp_path / "q.pdf"
    ev.cli("circular", "2026-Q3", "-o", str(out))
    text = without_spaces(pdftotext(out))
    # Its own number series and title; each month's score with its rank, M, L and Q per unit.
    assert "政法评汇〔2026〕3号" in text
    assert "关于2026年第三季度全县政法系统民主评议汇总情况的通报" in text
    assert "A单位100.00(1)70.00(2)100.00(1)90.00100.0093.00" in text
    assert "B单位70.00(2)100.00(1)100.00(1)90.0030.0072.00" in text
    assert "（月均分）×70%＋县领导评分×30%" in text


def test_a_quarter_over_an_open_month_is_refused_unless_forced(quarter: Evaluation) -> None:
    ev = quarter
    ev.cli("round", "close", "2026-07")
    create_quarter(ev)
    out = ev.cli("rank", "2026-Q3", ok=False)
    assert "constituent '2026-08' is still open" in out
    forced = json.loads(ev.cli("rank", "2026-Q3", "--json", "--force"))
    # No leaders' panel: Q = M for every unit.
    assert {u["code"]: u["score"] for u in forced["units"]} == {"A": 90.0, "B": 90.0}


def test_a_summary_names_rounds_of_the_right_kind_once(quarter: Evaluation) -> None:
    ev = quarter
    window = ("--opens", "2026-10-01", "--closes", "2026-10-15")
    out = ev.cli(
        "round", "create", "H", "--kind", "semiannual", "--of", "2026-07", *window, ok=False
    )
    assert "constituent round '2026-07' is monthly, not quarterly" in out
    out = ev.cli("round", "create", "Q", "--kind", "quarterly", *window, ok=False)
    assert "names its monthly rounds (--of)" in out
    out = ev.cli("round", "create", "Q", "--kind", "quarterly", "--of", "2026-07,2026-07",
                 *window, ok=False)  # fmt: skip
    assert "at most 3 different monthly rounds" in out
    create_quarter(ev)
    out = ev.cli("round", "create", "Q2", "--kind", "quarterly", "--of", "2026-09", *window,
                 ok=False)  # fmt: skip
    assert "'2026-09' is already part of quarterly round '2026-Q3'" in out


def test_the_ranking_job_waits_for_open_months_without_failing(
    quarter: Evaluation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the service a leader's ballot asks for the quarter's ranking while its months may
    still be open: the job ranks nothing yet and says why, instead of failing and retrying."""
    from jobs.rounds import rank_round_job

    create_quarter(quarter)
    monkeypatch.setenv("DATABASE_URL", quarter.db_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("PINGYI_CONFIG", raising=False)
    assert rank_round_job("2026-Q3") == {"round": "2026-Q3", "snapshot": None, "ranked": False}
    for month in MONTHS:
        quarter.cli("round", "close", month)
    done = rank_round_job("2026-Q3")
    assert done["snapshot"] is not None


def test_the_api_closes_a_summary_round_and_serves_its_circular(
    quarter: Evaluation, tmp_path: Path
) -> None:
    """Closing the quarter through the API ranks it and renders its circular (jobs run inline
    without Redis): its ranking has the parts, its PDF is the quarterly one."""
    from service.config import load_config
    from service.web.app import create_app

    for month in MONTHS:
        quarter.cli("round", "close", month)
    create_quarter(quarter)
    admin = quarter.cli("token", "create", "--role", "admin").split()[0]
    app = create_app(load_config({}, quarter.cli.config, quarter.db_url))
    try:
        client = app.test_client()
        auth = {"Authorization": f"Bearer {admin}"}
        closed = client.post("/api/v1/rounds/2026-Q3/close", headers=auth)
        assert closed.status_code in (200, 202), closed.get_json()  # 200: done inline
        ranking = client.get("/api/v1/rounds/2026-Q3/ranking", headers=auth).get_json()
        assert ranking["kind"] == "quarterly" and ranking["units"][0]["parts"]["mean"] == 90.0
        pdf = client.get("/api/v1/rounds/2026-Q3/circular.pdf", headers=auth)
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
        (tmp_path / "q.pdf").write_bytes(pdf.data)
        assert "政法评汇〔2026〕3号" in without_spaces(pdftotext(tmp_path / "q.pdf"))
        as_json = client.get("/api/v1/rounds/2026-Q3/circular.json", headers=auth).get_json()
        assert [c["id"] for c in as_json["constituents"]] == list(MONTHS)
    finally:
        app.extensions["pingyi"].engine.dispose()
