"""Summary rounds in the service: the status JSON and page say what a quarter waits for, and the
outgoing events name the kind and the constituents (docs/service.md)."""

from __future__ import annotations

from sqlalchemy import select

from service.models.service import OutboxEvent
from service.store.engine import make_engine, session_scope
from tests.harness.receiver import receiver
from tests.jobs.evaluation import Evaluation
from tests.jobs.test_summary_through_the_cli import MONTHS, create_quarter, quarter  # noqa: F401


def test_status_and_events_of_a_quarter(quarter: Evaluation) -> None:  # noqa: F811
    for month in list(MONTHS)[:2]:
        quarter.cli("round", "close", month)
    create_quarter(quarter)
    with receiver() as hook:
        _close_through_the_api(quarter, hook.url)
    engine = make_engine(quarter.db_url)
    with session_scope(engine) as s:
        events = [(e.event, e.payload["data"]) for e in s.scalars(select(OutboxEvent))]
    engine.dispose()
    quarterly = [(name, data) for name, data in events if data.get("round") == "2026-Q3"]
    assert {name for name, _ in quarterly} == {
        "round.closed", "ranking.computed", "circular.published"
    }  # fmt: skip
    for _, data in quarterly:
        assert data["kind"] == "quarterly" and data["parts"] == list(MONTHS)
    month = next(data for name, data in events if data.get("round") == "2026-09")
    assert month["kind"] == "monthly" and "parts" not in month


def _close_through_the_api(ev: Evaluation, hook_url: str) -> None:
    """The office's way through the service: status while September is open, then its close and
    the quarter's."""
    from service.config import load_config
    from service.web.app import create_app

    ev.cli("subscription", "add", hook_url, "--events",
                "round.closed,ranking.computed,circular.published", "--secret-env", "HOOK_OUT")  # fmt: skip
    admin = ev.cli("token", "create", "--role", "admin").split()[0]
    app = create_app(load_config({"HOOK_OUT": "whsec_" + "A" * 32}, ev.cli.config,
                                 ev.db_url))  # fmt: skip
    try:
        client = app.test_client()
        auth = {"Authorization": f"Bearer {admin}"}
        status = client.get("/api/v1/status", headers=auth).get_json()
        q3 = next(r for r in status["rounds"] if r["id"] == "2026-Q3")
        assert (q3["kind"], q3["parts"], q3["waiting_for"]) == (
            "quarterly",
            list(MONTHS),
            ["2026-09"],
        )
        page = client.get("/", headers=auth).get_data(as_text=True)
        assert "季度汇总" in page and "待 2026-09 结束后排名" in page and "月度评议" in page
        assert client.post("/api/v1/rounds/2026-09/close", headers=auth).status_code in (200, 202)
        detail = client.get("/api/v1/rounds/2026-Q3", headers=auth).get_json()
        assert detail["waiting_for"] == [] and detail["parts"] == list(MONTHS)
        assert client.post("/api/v1/rounds/2026-Q3/close", headers=auth).status_code in (200, 202)
    finally:
        app.extensions["pingyi"].engine.dispose()
