"""Deliveries no parser or database takes as they are (issue #9 items 3 and 4), over real HTTP:
a body nested too deeply is refused with 400 and nothing stored; an authentic delivery whose
ballots hold a NUL byte, a lone surrogate, "NaN", a huge exponent or a 600-deep item is answered
202 and each of those ballots is kept as rejected with its reason, on PostgreSQL, beside the good
ballot of the same delivery. No delivery is parked as failed."""

from __future__ import annotations

import json

from tests.harness.deliveries import ballot, signed

ROUND = "2026-10"


def test_a_body_nested_too_deeply_is_refused_with_400(service) -> None:
    service.setup_round(ROUND, seats=2)
    secret = service.add_source("formbricks")
    web = service.start_web()
    body = b"[" * 5000 + b"]" * 5000
    r = web.post("/hooks/formbricks", data=body, headers=signed(secret, body, msg_id="msg_deep"))
    assert r.status_code == 400, r.text
    assert "JSON" in r.json()["message"]
    assert service.inbox_statuses() == {}


def test_hostile_ballots_in_an_authentic_delivery_are_kept_as_rejected(service) -> None:
    tokens = service.setup_round(ROUND, seats=4)
    secret = service.add_source("formbricks")
    web = service.start_web()
    good = ballot("good", tokens[1])
    nul = {**ballot("nul", tokens[0]), "comments": {"U1": "回复\u0000敷衍"}}
    surrogate = {**ballot("surrogate", tokens[0]), "comments": {"U1": "x\ud800y"}}
    nan = ballot("nan", tokens[2], U1="NaN", U2="满意", U3="满意", U4="满意")
    huge = ballot("huge", tokens[3], U1="满意", U2="满意", U3="1e20000000", U4="满意")
    # json.dumps escapes NUL and the lone surrogate (\u0000, \ud800): the body is valid UTF-8.
    items = [json.dumps(b) for b in (nul, surrogate, nan, huge, good)]
    deep = json.dumps(ballot("deep", tokens[0], U1="DEEP")).replace('"DEEP"', "[" * 600 + "]" * 600)
    body = ("[" + ", ".join([*items, deep]) + "]").encode("ascii")
    r = web.post("/hooks/formbricks", data=body, headers=signed(secret, body, msg_id="msg_bad"))
    assert r.status_code == 202, r.text

    service.burst_worker()

    assert service.inbox_statuses() == {"done": 1}
    stored = dict(
        (rid, (status, reason))
        for rid, status, reason in service.rows(
            "select response_id, status, reason from ballots where source = 'formbricks'"
        )
    )
    assert stored["good"][0] == "accepted"
    reasons = {
        "nul": "contains a NUL character",
        "surrogate": "contains an unpaired surrogate",
        "nan": "NaN is not a number",
        "huge": "is outside 0–100",
        "deep": "nested more than 4 levels deep",
    }
    for rid, reason in reasons.items():
        assert stored[rid][0] == "rejected", rid
        assert reason in stored[rid][1], (rid, stored[rid][1])
