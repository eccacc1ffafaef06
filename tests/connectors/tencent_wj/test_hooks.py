"""腾讯问卷 webhooks through the real receiver (``/hooks/<source>/<key>``) and the real inbox job
(the app's queue is inline, so the job runs in the request), which re-reads every answer from
the stand-in. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select

from connectors.tencent_wj.hooks import hook_key
from service.config import Config
from service.models.ballots import Ballot
from service.models.inbox import InboxDelivery
from service.store.engine import make_engine, session_scope
from service.web.app import create_app
from tests.connectors.tencent_wj.conftest import VAR, add_source
from tests.connectors.tencent_wj.stand_in import SECRET, event, make_answer
from tests.fake_limesurvey import ROUND

ROWS = {
    "财政局": "满意",
    "卫健局": "基本满意",
    "税务局": "满意",
    "统计局": "不满意",
    "城管局": "满意",
}
KEY = hook_key(SECRET, "twj")


def web(cli, environ: dict[str, str] | None = None):
    config = Config(database_url=cli.db, environ={VAR: SECRET} if environ is None else environ)
    return create_app(config).test_client()


def ballots(cli) -> list[tuple[str, int, str, str]]:
    with session_scope(make_engine(cli.db)) as s:
        rows = s.execute(
            select(Ballot.response_id, Ballot.version, Ballot.status, Ballot.raw).order_by(
                Ballot.response_id, Ballot.version
            )
        ).all()
    return [(rid, v, status, json.loads(raw)["answer"][0]["questions"][0]["groups"][0]["options"])
            for rid, v, status, raw in rows]  # fmt: skip


def deliveries(cli) -> list[tuple[str, str, int, str | None]]:
    with session_scope(make_engine(cli.db)) as s:
        rows = s.scalars(select(InboxDelivery).order_by(InboxDelivery.id)).all()
        return [(d.delivery_id, d.status, d.attempts, d.error) for d in rows]


def test_a_delivery_is_checked_by_its_url_key_and_its_answer_re_read_through_the_api(
    cli, seats, stand_in, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    add_source(cli, stand_in)
    stand_in.answers = [make_answer(7, seats[0], "2026-11-20 10:00:00", ROWS)]
    client = web(cli)
    # The body claims other answers: they are never read, the API's copy is.
    forged = event(
        "answer.create", 7, id="d-7", openid=seats[1], answer=[{"id": "p", "questions": []}]
    )
    wrong = client.post("/hooks/twj/" + "0" * 32, data=forged)
    assert (wrong.status_code, wrong.get_json()["message"]) == (401, "wrong key in the URL")
    bare = client.post("/hooks/twj", data=forged)
    assert bare.status_code == 401 and "only at its URL with the key" in bare.get_json()["message"]
    assert client.post(f"/hooks/twj/{KEY}", data=b"{oops").status_code == 400
    other = client.post(f"/hooks/twj/{KEY}", data=event("answer.create", 7, survey=42))
    assert (other.status_code, other.get_json()["message"]) == (
        400, "a delivery for survey 42; this source reads 5356056",
    )  # fmt: skip
    test_call = client.post(f"/hooks/twj/{KEY}", data=b'{"action": "webhook.test"}')
    assert test_call.get_json() == {"status": "ignored"}
    stand_in.calls.clear()
    stored = client.post(f"/hooks/twj/{KEY}", data=forged)
    assert (stored.status_code, stored.get_json()) == (
        202,
        {"status": "accepted", "delivery": "d-7"},
    )
    assert stand_in.calls == ["get_answer"]  # the token source add fetched was still good
    again = client.post(f"/hooks/twj/{KEY}", data=forged)
    assert again.get_json() == {"status": "duplicate", "delivery": "d-7"}
    with session_scope(make_engine(cli.db)) as s:
        [got] = s.scalars(select(Ballot)).all()
        assert (got.response_id, got.token, got.status) == ("7", seats[0], "accepted")
    assert deliveries(cli) == [("d-7", "done", 1, None)]
    assert SECRET not in caplog.text and KEY not in caplog.text and seats[0] not in caplog.text
    assert stand_in.token not in caplog.text  # urllib3's debug lines lose their query


def test_an_update_is_a_new_version_and_a_delete_takes_nothing_away(cli, seats, stand_in) -> None:
    add_source(cli, stand_in)
    stand_in.answers = [make_answer(7, seats[0], "2026-11-20 10:00:00", ROWS)]
    client = web(cli)
    assert client.post(f"/hooks/twj/{KEY}", data=event("answer.create", 7)).status_code == 202
    stand_in.answers = [
        make_answer(7, seats[0], "2026-11-20 10:00:00", {**ROWS, "财政局": "不满意"})
    ]
    assert client.post(f"/hooks/twj/{KEY}", data=event("answer.update", 7)).status_code == 202
    [first, second] = ballots(cli)
    assert (first[:3], second[:3]) == (("7", 1, "superseded"), ("7", 2, "accepted"))
    assert [o["text"] for o in second[3] if o["checked"]] == ["不满意"]
    stand_in.answers = []
    stand_in.calls.clear()
    gone = client.post(f"/hooks/twj/{KEY}", data=event("answer.delete", 7, id="del-7"))
    assert gone.status_code == 202 and stand_in.calls == []  # kept on record, nothing re-read
    assert [b[:3] for b in ballots(cli)] == [("7", 1, "superseded"), ("7", 2, "accepted")]
    assert deliveries(cli)[-1] == ("del-7", "done", 1, None)


def test_an_answer_that_cannot_be_re_read_stays_in_the_inbox_and_the_poll_brings_it(
    cli, seats, stand_in
) -> None:
    add_source(cli, stand_in)
    client = web(cli)
    stored = client.post(f"/hooks/twj/{KEY}", data=event("answer.create", 8, id="d-8"))
    assert stored.status_code == 202  # in the inbox before the answer could be read
    [(delivery, status, attempts, error)] = deliveries(cli)
    # The inline queue tries it at once until it is parked: kept, failed, with its error.
    assert (delivery, status, attempts) == ("d-8", "failed", 5)
    assert error == (  # the connector's own words, which name no token (describe_error)
        "ConnectorError: get_answer 8: survey 5356056 has no such answer (deleted on the platform?)"
    )
    stand_in.answers = [make_answer(8, seats[1], "2026-11-21 10:00:00", ROWS)]
    [polled] = cli.json("poll")
    assert (polled["new"], polled["accepted"]) == (1, 1)
    assert [b[:3] for b in ballots(cli)] == [("8", 1, "accepted")]


def test_without_the_app_secret_in_the_web_process_deliveries_are_refused_with_500(
    cli, seats, stand_in
) -> None:
    add_source(cli, stand_in)
    answer = web(cli, environ={}).post(f"/hooks/twj/{KEY}", data=event("answer.create", 7))
    assert answer.status_code == 500
    assert answer.get_json()["message"] == "the source's secret is not configured on this server"
    assert deliveries(cli) == []


def test_an_update_after_the_close_is_kept_rejected_and_the_counted_version_stays(
    cli, seats, stand_in
) -> None:
    add_source(cli, stand_in)
    stand_in.answers = [make_answer(7, seats[0], "2026-11-20 10:00:00", ROWS)]
    client = web(cli)
    assert client.post(f"/hooks/twj/{KEY}", data=event("answer.create", 7)).status_code == 202
    cli("round", "close", ROUND)
    stand_in.answers = [
        make_answer(7, seats[0], "2026-11-20 10:00:00", {**ROWS, "财政局": "不满意"})
    ]
    assert client.post(f"/hooks/twj/{KEY}", data=event("answer.update", 7)).status_code == 202
    assert [b[:3] for b in ballots(cli)] == [("7", 1, "accepted"), ("7", 2, "rejected")]
    with session_scope(make_engine(cli.db)) as s:
        reason = s.scalars(select(Ballot.reason).where(Ballot.version == 2)).one()
    assert reason.startswith("round 2026-11 is closed (since ")


def test_the_api_lists_the_kind_and_adds_a_source_with_its_map_files_text(
    cli, seats, stand_in
) -> None:
    client = web(cli)
    admin = {"Authorization": "Bearer " + cli("token", "create", "--role", "admin").split()[0]}
    kinds = client.get("/api/v1/source-kinds", headers=admin).get_json()
    kind = next(k for k in kinds["kinds"] if k["kind"] == "tencent-wj")
    assert (kind["webhooks"], kind["polled"], kind["export"], kind["links"]) == (
        True, True, False, True,
    )  # fmt: skip
    options = {o["name"]: (o["required"], o["secret"], o["file"]) for o in kind["options"]}
    assert options["secret_env"] == (True, "secret", False) and options["map"] == (
        False,
        None,
        True,
    )
    stand_in.answers = [make_answer(1, "test", "2026-11-20 10:00:00", {"县志办": "很好"})]
    body = {"name": "twj", "kind": "tencent-wj", "round": ROUND, "options": {
        "survey": 5356056, "appid": "wj-app-7f3e", "secret_env": VAR, "url": stand_in.url}}  # fmt: skip
    refused = client.post("/api/v1/sources", json=body, headers=admin)
    assert refused.status_code == 400
    assert "row '县志办' (r-1-0001) is not a unit of the round" in refused.get_json()["message"]
    body["options"]["map"] = '[units]\n"县志办" = "U05"\n[answers]\n"很好" = "满意"\n'
    added = client.post("/api/v1/sources", json=body, headers=admin)
    assert added.status_code == 201, added.get_json()
    assert added.get_json()["units_seen"] == 1 and KEY not in added.get_data(as_text=True)
