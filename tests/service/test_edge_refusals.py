"""Ids and bodies are checked at the edge (issue #9 item 13): a round id that would break a
link, a file name or a header is refused when the round is created, and API bodies of the wrong
shape get 400 with the reason, never a 500 or a job that fails later."""

from __future__ import annotations

import pytest

from service.config import Config
from service.web.app import create_app

ROUND = "2026-10"


@pytest.mark.parametrize(
    "round_id", ["'; DROP TABLE rounds; --", 'a"b', "a\r\nb", "../x", "a/b", "_x", "x" * 65]
)
def test_a_round_id_that_breaks_links_or_headers_is_refused(cli, round_id: str) -> None:
    out = cli("round", "create", round_id, ok=False)
    assert "round id" in out and "letters, digits" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("round_id", ["2026-10", "2026-Q4", "2026年10月", "h1_2026.v2"])
def test_ordinary_round_ids_are_taken(cli, tmp_path, round_id: str) -> None:
    units = tmp_path / "units.csv"
    units.write_text("code,name,system\nU1,立案庭,法院\n", encoding="utf-8")
    cli("import", "units", str(units))
    window = ("--opens", "2026-10-01", "--closes", "2026-10-31")
    cli("round", "create", round_id, *window)
    assert round_id in cli("round", "create", round_id, *window, ok=False)  # exists now


def test_api_bodies_of_the_wrong_shape_get_400(service) -> None:
    service.setup_round(ROUND, seats=2)
    app = create_app(Config(database_url=service.db_url, redis_url=None))
    client = app.test_client()
    admin = {"Authorization": f"Bearer {service.token('admin')}"}
    vetoes = f"/api/v1/rounds/{ROUND}/vetoes"
    for body in (
        {"unit": "U1", "reason": "重大失误", "by": {"x": 1}},
        {"unit": "U1", "reason": ""},
        {"unit": ["U1"], "reason": "重大失误"},
        ["U1"],
    ):
        r = client.post(vetoes, json=body, headers=admin)
        assert r.status_code == 400, (body, r.get_json())
    # A round not drawn yet, so that only the body can be what is refused (ROUND is drawn,
    # and "already drawn" would be a 400 too): the same body with good seats draws it.
    service.cli("round", "create", "2026-12", "--opens", "2026-12-01", "--closes", "2026-12-31")
    draw = "/api/v1/rounds/2026-12/draw"
    for body in ({"numbers": "1 2 3", "seats": -5}, {"numbers": "1 2 3", "seats": "5"}):
        r = client.post(draw, json=body, headers=admin)
        assert r.status_code == 400, (body, r.get_json())
        assert "seats" in r.get_json()["message"]
        assert "already" not in r.get_json()["message"]
    drawn = client.post(draw, json={"numbers": "1 2 3", "seats": 5}, headers=admin)
    assert drawn.status_code == 200, drawn.get_json()
    ok = client.post(vetoes, json={"unit": "U1", "reason": "重大失误", "by": None}, headers=admin)
    assert ok.status_code == 201, ok.get_json()
    app.extensions["pingyi"].engine.dispose()
