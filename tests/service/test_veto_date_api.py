"""POST /api/v1/rounds/<id>/vetoes takes the decision's date (issue #14): given, it is stored
and answered; absent, it is today in the body's time zone; ahead of today or not a date, 400.
The answer is what the OpenAPI document says."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from service.config import Config
from service.web import schemas
from service.web.app import create_app

ROUND = "2026-10"


def test_the_veto_api_records_the_decision_date(service) -> None:
    service.setup_round(ROUND, seats=2)
    app = create_app(Config(database_url=service.db_url, redis_url=service.redis_url))
    admin = {"Authorization": f"Bearer {service.token('admin')}"}
    url = f"/api/v1/rounds/{ROUND}/vetoes"
    client = app.test_client()
    try:
        dated = client.post(url, headers=admin,
                            json={"unit": "U3", "reason": "发生重大违纪", "date": "2026-10-28"})  # fmt: skip
        ahead = client.post(url, headers=admin,
                            json={"unit": "U2", "reason": "发生重大违纪", "date": "2099-01-01"})  # fmt: skip
        wrong = client.post(url, headers=admin,
                            json={"unit": "U2", "reason": "发生重大违纪", "date": "10月28日"})  # fmt: skip
        today = client.post(url, headers=admin, json={"unit": "U1", "reason": "发生重大违纪"})
    finally:
        app.extensions["pingyi"].engine.dispose()
    assert dated.status_code == 201, dated.get_data(as_text=True)
    assert dated.get_json()["date"] == "2026-10-28"
    assert not schemas.VetoRecordSchema().validate(dated.get_json())
    assert ahead.status_code == 400 and "after today" in ahead.get_data(as_text=True)
    assert wrong.status_code == 400 and "date" in wrong.get_data(as_text=True)
    assert today.status_code == 201
    assert today.get_json()["date"] == datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    stored = dict(service.rows("select unit_code, decided_on from vetoes"))
    assert {u: str(d)[:10] for u, d in stored.items()} == {
        "U3": "2026-10-28",
        "U1": today.get_json()["date"],
    }
