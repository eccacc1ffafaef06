"""金数据's push through the real receiver and inbox: the URL key checked (and nothing else trusted),
the answer given without calling 金数据, the entry re-read by serial number before it counts, and
a push of an entry 金数据 does not have kept as rejected with that reason."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from sqlalchemy import select

from connectors.jinshuju.hooks import hook_key
from service.config import Config
from service.models.ballots import Ballot
from service.models.inbox import InboxDelivery
from service.store.engine import make_engine, session_scope
from service.web.app import create_app
from tests.connectors.jinshuju.conftest import ENV, add_source
from tests.connectors.jinshuju.stand_in import FORM, SECRET, StandIn, fixture, make_entry
from tests.connectors.jinshuju.test_jinshuju_entries import ROWS
from tests.fake_limesurvey import setup_round

KEY = hook_key(SECRET, "js")


def push_body(entry: dict) -> bytes:
    """A push as 金数据 sends it: the published sample's envelope around ``entry``."""
    sample = fixture("jinshuju-webhook.json")
    return json.dumps({**sample, "form": FORM, "entry": entry}, ensure_ascii=False).encode()


def ballots(cli) -> dict[str, tuple]:
    with session_scope(make_engine(cli.db)) as s:
        rows = s.execute(select(Ballot.response_id, Ballot.status, Ballot.reason, Ballot.token))
        return {r[0]: tuple(r[1:]) for r in rows}


def test_the_key_is_checked_and_the_entry_is_re_read_before_it_counts(
    cli, tmp_path: Path, jinshuju, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = setup_round(cli, tmp_path)
    real = make_entry(1, tokens[0], ROWS)
    with StandIn([real]) as site:
        add_source(cli, tmp_path, site.url)
        client = create_app(Config(database_url=cli.db, environ=ENV)).test_client()

        def post(path: str, body: bytes):
            return client.post(path, data=body, headers={"X-Requested-By": "jinshuju"})

        # The body claims other answers than 金数据 has: only the re-read entry counts.
        forged = make_entry(1, tokens[0], {"财政局": "不满意"})
        no_key = post("/hooks/js", push_body(forged))
        assert no_key.status_code == 401 and "no key in the URL" in no_key.get_json()["message"]
        wrong = post("/hooks/js/" + "0" * 32, push_body(forged))
        assert (wrong.status_code, wrong.get_json()["message"]) == (401, "wrong key in the URL")
        assert post(f"/hooks/js/{KEY}", b"{oops").status_code == 400
        no_serial = post(f"/hooks/js/{KEY}", b'{"form": "Xk7Pq2", "entry": {}}')
        assert "no entry.serial_number" in no_serial.get_json()["message"]
        other = post(f"/hooks/js/{KEY}", push_body(forged).replace(FORM.encode(), b"Other1"))
        assert other.status_code == 400 and "this source reads form Xk7Pq2" in other.get_data(
            as_text=True
        )
        assert site.count("entry") == 0  # nothing was asked of 金数据 for a refused push
        # A web process without the API secret cannot know the key: a 500, so 金数据 retries.
        unset = create_app(Config(database_url=cli.db, environ={"JS_KEY": "k"})).test_client()
        missing = unset.post(f"/hooks/js/{KEY}", data=push_body(forged))
        assert missing.status_code == 500 and "not configured" in missing.get_json()["message"]
        stored = post(f"/hooks/js/{KEY}", push_body(forged))
        assert stored.status_code == 202, stored.get_json()
        assert stored.get_json()["delivery"] == "1@2026-11-20T02:00:00.000Z"
        assert post(f"/hooks/js/{KEY}", push_body(forged)).get_json()["status"] == "duplicate"
        assert site.count("entry") == 1
        # An entry 金数据 does not have: kept as rejected, saying so.
        ghost = post(f"/hooks/js/{KEY}", push_body(make_entry(99, tokens[1], ROWS)))
        assert ghost.status_code == 202
    got = ballots(cli)
    assert got["1"][:1] == ("accepted",) and got["1"][2] == tokens[0]
    assert got["99"][0] == "rejected"
    assert "the 金数据 API has no entry 99 in form Xk7Pq2; the push is not trusted" in got["99"][1]
    with session_scope(make_engine(cli.db)) as s:
        answers = s.scalars(select(Ballot.raw).where(Ballot.response_id == "1")).one()
        kept = s.scalars(select(InboxDelivery.headers)).all()
    assert json.loads(answers)["field_1"] == real["field_1"]  # the re-read, not the push body
    assert [h["x-requested-by"] for h in kept] == ["jinshuju", "jinshuju"]
    assert "delivery refused (wrong key in the URL)" in caplog.text  # the log is captured
    # Neither the API secret, nor the URL key, nor a seat's token is in any log line.
    assert not [x for x in (SECRET, KEY, tokens[0], tokens[1]) if x in caplog.text]


def test_the_receiver_answers_without_calling_jinshuju(cli, tmp_path: Path, jinshuju) -> None:
    """金数据 wants an answer within 2 s: with its API taking 3 s, the push is still answered at
    once (stored; the queue is unreachable here, as when Redis is down). The inbox job re-reads
    the entry afterwards: while the API refuses, the delivery is kept (failed, with the reason)
    and no ballot is made of the push body; once the API answers, a retry makes the ballot."""
    from jobs.inbox import ingest_inbox
    from service.queue import INLINE_CONFIG

    tokens = setup_round(cli, tmp_path)
    with StandIn([make_entry(1, tokens[0], ROWS)]) as site:
        add_source(cli, tmp_path, site.url)
        config = Config(database_url=cli.db, environ=ENV, redis_url="redis://127.0.0.1:9/0")
        client = create_app(config).test_client()
        site.fail("entry", "slow", 3.0)
        started = time.monotonic()
        answer = client.post(f"/hooks/js/{KEY}", data=push_body(make_entry(1, tokens[0], ROWS)))
        assert answer.status_code == 202 and time.monotonic() - started < 2.0
        assert site.count("entry") == 0 and ballots(cli) == {}
        site.faults.clear()
        site.fail("entry", "status", (401, {}, {"error": "unauthorized"}), times=50)
        token = INLINE_CONFIG.set(Config(database_url=cli.db, environ=ENV))
        try:
            ingest_inbox("js")
        finally:
            INLINE_CONFIG.reset(token)
        [parked] = cli.json("inbox", "list")
        assert parked["status"] == "failed" and parked["error"].startswith("CredentialsError: ")
        # The connector's own words reach staff (describe_error keeps a ConnectorError's).
        assert "金数据 refused the API key and secret (HTTP 401)" in parked["error"]
        assert ballots(cli) == {} and site.count("entry") >= 1
        site.faults.clear()
        assert "1 deliveries back in the inbox" in cli("inbox", "retry", "--all-failed")
    assert ballots(cli)["1"][0] == "accepted"
