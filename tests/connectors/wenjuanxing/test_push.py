"""The signed push through the real receiver (``/hooks/<source>``) and the real inbox job (inline
in the request), on SQLite and PostgreSQL: what is refused, and with what message; what becomes a
ballot, and what a rejected ballot kept with its reason."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from service.models.ballots import Ballot, Comment, Vote
from service.models.inbox import InboxDelivery
from service.store.engine import make_engine, session_scope
from tests.connectors.wenjuanxing.wjx import (
    ACTIVITY,
    FIXTURES,
    KEY,
    VAR,
    add_source,
    post,
    push_body,
    web,
)
from tests.fake_limesurvey import setup_round


def stored(cli) -> dict[str, tuple]:
    """response id -> (status, reason, token, submitted_at UTC, {unit: label}, comments)."""
    with session_scope(make_engine(cli.db)) as s:
        out = {}
        for b in s.scalars(select(Ballot).where(Ballot.source == "wjx")):
            votes = {v.unit_code: v.label for v in s.scalars(select(Vote).where(Vote.ballot_id == b.id))}  # fmt: skip
            notes = {c.unit_code: c.text for c in s.scalars(select(Comment).where(Comment.ballot_id == b.id))}  # fmt: skip
            at = b.submitted_at.strftime("%Y-%m-%d %H:%M") if b.submitted_at else None
            out[b.response_id] = (b.status, b.reason, b.token, at, votes, notes)
        return out


def test_a_signed_push_becomes_a_ballot_once_and_forgeries_are_refused(cli, tmp_path: Path):
    tokens = setup_round(cli, tmp_path)
    out = add_source(cli, tmp_path)
    assert "source wjx added: wenjuanxing for round 2026-11" in out
    assert "5 units in rows q2_1, q2_2, q2_3, q2_4, q2_5" in out and "POST to /hooks/wjx" in out
    client = web(cli)
    body = push_body(7, tokens[0], [1, 2, 3, 4, 1], comment="窗口服务好")
    forged = dict(body, sign="0" * 40)
    answer = post(client, forged)
    assert answer.status_code == 401
    assert answer.get_json()["message"] == "bad sign: not sha1(activity + index + push key)"
    tampered = dict(body, index="8")  # the sign covers activity and index
    assert post(client, tampered).status_code == 401
    other_key = push_body(7, tokens[0], [1, 1, 1, 1, 1], key="someone-elses-key")
    assert post(client, other_key).status_code == 401
    unsigned = {k: v for k, v in body.items() if k != "sign"}
    assert post(client, unsigned).get_json()["message"] == "the push carries no sign"
    other = push_body(7, tokens[0], [1] * 5, activity="41943184")
    refused = post(client, other)
    assert refused.status_code == 401
    assert refused.get_json()["message"] == (
        f"a push for survey '41943184'; this source takes survey {ACTIVITY}"
    )
    assert post(client, b"not a push").status_code == 401
    keyed = post(client, body, path="/hooks/wjx/guessed-key")
    assert keyed.status_code == 401 and "takes no key in its URL" in keyed.get_json()["message"]
    form = client.post("/hooks/wjx", data=dict(push_body(9, tokens[1], [1] * 5)))  # form-encoded
    assert form.status_code == 202
    first = post(client, body)
    assert (first.status_code, first.get_json()) == (
        202, {"status": "accepted", "delivery": body["joinid"]},
    )  # fmt: skip
    again = post(client, body)  # 问卷星 retries a push it thinks failed
    assert again.get_json() == {"status": "duplicate", "delivery": body["joinid"]}
    ballots = stored(cli)
    assert sorted(ballots) == ["7", "9"]  # keyed on the answer's sequence number
    status, reason, token, at, votes, notes = ballots["7"]
    assert (status, reason, token) == ("accepted", None, tokens[0])
    assert at == "2026-11-20 02:00"  # 10:00 Beijing time is 02:00 UTC
    assert votes == {
        "U01": "满意",
        "U02": "基本满意",
        "U03": "不满意",
        "U04": "不了解",
        "U05": "满意",
    }
    assert notes == {"U01": "窗口服务好"}
    with session_scope(make_engine(cli.db)) as s:
        deliveries = s.scalars(select(InboxDelivery)).all()
        assert [d.status for d in deliveries] == ["done", "done"]
        assert not [d for d in deliveries if KEY in json.dumps(d.headers) + d.body.decode()]


def test_what_cannot_be_read_is_kept_as_a_rejected_ballot_naming_it(cli, tmp_path: Path):
    tokens = setup_round(cli, tmp_path)
    add_source(cli, tmp_path)
    client = web(cli)
    pushes = {
        "11": push_body(11, tokens[0], [1, 1, 1, 1, 5]),  # a fifth column the survey lacks
        "12": push_body(12, "", [1, 1, 1, 1, 1]),  # no sojumpparm: not through a personal link
        "13": dict(push_body(13, tokens[1], [1, 1, 1, 1, 1]), q2_6="1"),  # a row not in the survey
        "14": push_body(14, tokens[2], [1, 1, 1, 1, 1], when="23 Nov 2026"),
        # Beijing time: 20:00 on Oct 31 is 12:00 UTC, before the round opened at 16:00 UTC …
        "15": push_body(15, tokens[3], [1, 1, 1, 1, 1], when="2026-10-31 20:00:00"),
        # … and 23:30 on Nov 30 is inside it (as UTC it would be after the close).
        "16": push_body(16, tokens[4], [2, 2, 2, 2, 2], when="2026-11-30 23:30:00"),
        "17": push_body(17, "not-a-seat", [1, 1, 1, 1, 1]),
    }
    for body in pushes.values():
        assert post(client, body).status_code == 202
    ballots = stored(cli)
    reasons = {rid: ballots[rid][1] or "" for rid in pushes}
    assert ballots["16"][0] == "accepted" and ballots["16"][3] == "2026-11-30 15:30"
    assert {rid for rid, b in ballots.items() if b[0] == "rejected"} == set(pushes) - {"16"}
    assert "q2_5: answer '5' is not on the scale" in reasons["11"]
    assert "no sojumpparm" in reasons["12"]
    assert "q2_6: not a unit of the round" in reasons["13"]
    assert "submission time '23 Nov 2026' is not a time" in reasons["14"]
    assert "before the round opened" in reasons["15"]
    assert "17" in ballots and ballots["17"][0] == "rejected" and reasons["17"]


def test_the_sign_over_joinid_is_accepted_when_a_push_has_no_index(cli, tmp_path: Path):
    """The vendor's example carries joinid and no index: such a push is signed over joinid and
    keyed ``joinid-<joinid>`` (the export cannot reconcile it by 序号; see the docs)."""
    tokens = setup_round(cli, tmp_path)
    add_source(cli, tmp_path)
    body = push_body(None, tokens[0], [1, 1, 1, 1, 1], joinid="101812480275")
    assert post(web(cli), body).status_code == 202
    assert stored(cli)["joinid-101812480275"][0] == "accepted"
    upper = push_body(None, tokens[1], [1] * 5, joinid="101812480276")
    upper["sign"] = upper["sign"].upper()  # hex in either case
    assert post(web(cli), upper).status_code == 202


def test_a_source_whose_push_key_is_not_set_answers_500_naming_no_value(cli, tmp_path: Path):
    tokens = setup_round(cli, tmp_path)
    add_source(cli, tmp_path)
    answer = post(web(cli, environ={}), push_body(1, tokens[0], [1] * 5))
    assert answer.status_code == 500 and VAR not in answer.get_data(as_text=True)
    assert KEY not in answer.get_data(as_text=True)


def test_the_vendors_published_examples_are_not_pushes_and_are_refused(cli, tmp_path: Path):
    """Both recorded bodies are not JSON (a comma for a colon; single quotes): refused with 401,
    as an unreadable, unsigned body must be; nothing is stored."""
    setup_round(cli, tmp_path)
    add_source(cli, tmp_path)
    client = web(cli)
    for name in ("wjx-push.published.txt", "wjx-push.test-sample.txt"):
        answer = post(client, (FIXTURES / name).read_bytes())
        assert answer.status_code == 401 and "not a 问卷星 push" in answer.get_json()["message"]
    assert stored(cli) == {}
