"""The webhook receiver over real HTTP (issue #5): gunicorn, PostgreSQL, Redis and an ``rq`` worker.

Signed deliveries become ballots; the same delivery many times counts once; forged, stale,
oversize, malformed or misaddressed deliveries are refused and leave nothing behind.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from service.web.app import MAX_BODY
from tests.service_helpers import ballot, body_of, new_secret, signed

ROUND = "2026-10"


def test_signed_deliveries_become_ballots_and_a_ranking(service) -> None:
    tokens = service.setup_round(ROUND, seats=10)
    secret = service.add_source("formbricks")
    web = service.start_web()
    # Seven single ballots, then one delivery carrying an array of three (docs/connectors.md).
    for i, token in enumerate(tokens[:6]):
        r = web.deliver("formbricks", secret, ballot(f"r{i}", token, U1="满意", U2="不满意"))
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "accepted"
    # While a sender rotates its secret it signs with both: any valid v1 signature will do.
    body = body_of(ballot("r6", tokens[6], U1="满意", U2="不满意"))
    headers = signed(secret, body, msg_id="msg_rotating")
    old_secret = signed(new_secret(), body, msg_id="msg_rotating")["webhook-signature"]
    headers["webhook-signature"] = f"{old_secret} {headers['webhook-signature']}"
    assert web.post("/hooks/formbricks", data=body, headers=headers).status_code == 202
    batch = body_of([ballot(f"r{i}", tokens[i], U1="满意", U2="不满意") for i in range(7, 10)])
    # Sent chunked (no Content-Length), as some HTTP clients do.
    r = web.post(
        "/hooks/formbricks",
        data=iter([batch[:100], batch[100:]]),
        headers=signed(secret, batch, msg_id="msg_batch"),
    )
    assert (r.status_code, r.json()) == (202, {"status": "accepted", "delivery": "msg_batch"})
    # Valid JSON that is not a canonical ballot is stored, and kept as a rejected ballot.
    odd = web.deliver("formbricks", secret, {"id": "odd", "token": tokens[0]}, msg_id="msg_odd")
    assert odd.status_code == 202
    assert service.inbox_statuses() == {"pending": 9}
    assert service.ballot_counts() == {}  # nothing is a ballot before a worker ran

    service.burst_worker()

    assert service.inbox_statuses() == {"done": 9}
    assert service.ballot_counts("formbricks") == {"odd": 1, **{f"r{i}": 1 for i in range(10)}}
    status, reason = service.rows("select status, reason from ballots where response_id = 'odd'")[0]
    assert status == "rejected" and reason
    assert service.scalar("select count(*) from ranking_snapshots") == 1  # one recompute
    viewer = service.token("viewer")
    r = web.get(f"/api/v1/rounds/{ROUND}/ranking", token=viewer)
    assert r.status_code == 200, r.text
    ranking = r.json()
    assert ranking["round"] == ROUND and ranking["valid"] is True
    assert ranking["participation"] == {"seats": 10, "ballots": 10, "valid_ballots": 10}
    units = {u["code"]: u for u in ranking["units"]}
    assert units["U1"]["votes"] == 10 and units["U1"]["score"] == 100.0
    assert units["U1"]["rank_in_system"] == 1 and units["U2"]["rank_in_system"] == 2
    assert units["U2"]["score"] < units["U1"]["score"]
    # Without a token there is no ranking.
    assert web.get(f"/api/v1/rounds/{ROUND}/ranking").status_code == 401


def test_the_same_delivery_five_times_counts_once(service) -> None:
    tokens = service.setup_round(ROUND, seats=10)
    secret = service.add_source("formbricks")
    web = service.start_web()
    body = body_of(ballot("r-once", tokens[0]))
    headers = signed(secret, body, msg_id="msg_once")
    answers = [web.post("/hooks/formbricks", data=body, headers=headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [202, 200, 200, 200, 200]
    assert {a.json()["status"] for a in answers[1:]} == {"duplicate"}

    # Five copies at once, across both gunicorn workers: still exactly one is stored.
    body2 = body_of(ballot("r-race", tokens[1]))
    headers2 = signed(secret, body2, msg_id="msg_race")
    with ThreadPoolExecutor(5) as pool:
        codes = sorted(
            pool.map(
                lambda _: web.post("/hooks/formbricks", data=body2, headers=headers2).status_code,
                range(5),
            )
        )
    assert codes == [200, 200, 200, 200, 202]

    service.burst_worker()
    assert service.inbox_statuses() == {"done": 2}
    assert service.ballot_counts() == {"r-once": 1, "r-race": 1}

    # A platform retry re-signs with a new timestamp: same webhook-id, still a duplicate.
    again = web.post(
        "/hooks/formbricks", data=body, headers=signed(secret, body, msg_id="msg_once")
    )
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    # The same response re-sent under a new message id is stored, but is the same ballot.
    assert web.deliver("formbricks", secret, json.loads(body), msg_id="msg_new").status_code == 202
    service.burst_worker()
    assert service.ballot_counts() == {"r-once": 1, "r-race": 1}
    viewer = service.token("viewer")
    ranking = web.get(f"/api/v1/rounds/{ROUND}/ranking", token=viewer).json()
    assert ranking["participation"]["ballots"] == 2


def test_refused_deliveries_are_answered_and_leave_nothing_behind(service) -> None:
    tokens = service.setup_round(ROUND, seats=10)
    secret = service.add_source("formbricks")
    web = service.start_web()
    hook = "/hooks/formbricks"
    body = body_of(ballot("r1", tokens[0]))

    def post(data: bytes, headers: dict, path: str = hook) -> requests.Response:
        return web.post(path, data=data, headers=headers)

    # Forged: signed with another secret; or a body changed after signing.
    forged = post(body, signed(new_secret(), body))
    assert forged.status_code == 401, forged.text
    assert forged.headers["Content-Type"].startswith("application/json")
    assert forged.json()["message"]
    tampered = signed(secret, body)
    assert post(body.replace(b"r1", b"r2"), tampered).status_code == 401
    # Unsigned.
    assert post(body, {"content-type": "application/json"}).status_code == 401
    # Replayed: a genuine signature, but over a timestamp more than 5 minutes old (or ahead).
    assert post(body, signed(secret, body, timestamp=int(time.time()) - 301)).status_code == 401
    assert post(body, signed(secret, body, timestamp=int(time.time()) + 400)).status_code == 401
    # Unknown source.
    unknown = post(body, signed(secret, body), path="/hooks/nobody")
    assert unknown.status_code == 404 and unknown.json()["message"]
    # Over 1 MiB (with a Content-Length; chunked, see the next test).
    big = b'{"id": "big", "pad": "' + b"x" * MAX_BODY + b'"}'
    too_big = post(big, signed(secret, big))
    assert too_big.status_code == 413 and too_big.json()["message"]
    # Malformed JSON, validly signed.
    broken = b'{"id": "r1", "token": '
    malformed = post(broken, signed(secret, broken))
    assert malformed.status_code == 400 and malformed.json()["message"]
    assert post(b"\xff\xfe", signed(secret, b"\xff\xfe")).status_code == 400

    # An event the sender sends that is not a ballot: 200, so it stops retrying; not stored.
    ping = body_of({"type": "ping", "data": {}})
    assert post(ping, signed(secret, ping)).status_code == 200
    # Exactly 1 MiB is still accepted (whitespace pads the JSON to the limit).
    edge = body_of({"type": "ping"})
    edge += b" " * (MAX_BODY - len(edge))
    assert post(edge, signed(secret, edge)).status_code == 200

    # Errors outside the hooks are JSON with a message too.
    for answer, code in ((web.get(hook), 405), (web.get("/no/such/page"), 404)):
        assert answer.status_code == code
        assert answer.json()["message"]

    service.burst_worker()
    assert service.inbox_statuses() == {}
    assert service.ballot_counts() == {}
    assert service.scalar("select count(*) from inbox") == 0


def test_source_add_refuses_a_malformed_webhook_secret(service, monkeypatch) -> None:
    service.setup_round(ROUND, seats=2)
    monkeypatch.setenv("PINGYI_TEST_BAD_SECRET", "whsec_not-base64!")
    out = service.cli(
        "source", "add", "bad", "--kind", "standard-webhooks", "--round", ROUND,
        "--secret-env", "PINGYI_TEST_BAD_SECRET", ok=False,
    )  # fmt: skip
    assert "base64" in out
    monkeypatch.setenv("PINGYI_TEST_BAD_SECRET", "whsec_" + "QUJD")  # 3 bytes: too short
    out = service.cli(
        "source", "add", "bad", "--kind", "standard-webhooks", "--round", ROUND,
        "--secret-env", "PINGYI_TEST_BAD_SECRET", ok=False,
    )  # fmt: skip
    assert "128 bits" in out
    assert service.scalar("select count(*) from sources") == 0


def test_a_chunked_body_over_one_mib_is_refused_with_413(service) -> None:
    service.setup_round(ROUND, seats=2)
    secret = service.add_source("formbricks")
    web = service.start_web(workers=1)
    big = b'{"id": "big", "pad": "' + b"x" * MAX_BODY + b'"}'
    chunked = web.post(
        "/hooks/formbricks", data=iter([big[:1000], big[1000:]]), headers=signed(secret, big)
    )
    assert chunked.status_code == 413, chunked.text
    # Exactly 1 MiB, chunked, is still read whole (a ping padded to the limit: 200, ignored).
    edge = body_of({"type": "ping"})
    edge += b" " * (MAX_BODY - len(edge))
    answer = web.post(
        "/hooks/formbricks", data=iter([edge[:70000], edge[70000:]]), headers=signed(secret, edge)
    )
    assert (answer.status_code, answer.json()["status"]) == (200, "ignored")
    assert service.scalar("select count(*) from inbox") == 0
