"""腾讯问卷 sources from the command line: add, poll, links, against the stand-in over real HTTP.

Every test runs on SQLite and PostgreSQL. The stand-in counts its calls, so the tests can say how
often a token was fetched (at most once a poll) and what an idle poll costs.
"""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from connectors.http import RetryPolicy
from connectors.tencent_wj.api import TOKENS
from connectors.tencent_wj.hooks import hook_key
from connectors.tencent_wj.platform import PLATFORM
from jobs.poll import poll_source
from service.config import load_config
from service.models.ballots import Ballot
from service.models.sources import Source
from service.store.engine import make_engine, session_scope
from tests.connectors.tencent_wj.conftest import VAR, add_source
from tests.connectors.tencent_wj.stand_in import SECRET, make_answer
from tests.fake_limesurvey import ROUND

ROWS = {"财政局": "满意", "卫健局": "基本满意", "U03": "满意", "统计局": "不满意", "城管局": "满意"}


def answers_of(seats: list[str]) -> list[dict]:
    return [
        make_answer(n, token, f"2026-11-2{n} 10:00:00", ROWS) for n, token in enumerate(seats, 1)
    ]


def poll(cli, *args: str) -> dict:
    [result] = cli.json("poll", *args)
    return result


def stored(cli) -> dict[str, tuple[str, int]]:
    with session_scope(make_engine(cli.db)) as s:
        rows = s.execute(
            select(Ballot.response_id, Ballot.status, func.count()).group_by(
                Ballot.response_id, Ballot.status
            )
        ).all()
    return {rid: (status, n) for rid, status, n in rows}


def cursor(cli) -> dict | None:
    with session_scope(make_engine(cli.db)) as s:
        return s.scalars(select(Source.cursor)).one()


def test_source_add_checks_the_form_the_answers_show_and_names_what_does_not_fit(
    cli, seats, stand_in, tmp_path
) -> None:
    stand_in.answers = [
        make_answer(1, "test", "2026-11-20 10:00:00", {"财政局": "很好", "县志办": "满意"})
    ]
    refused = add_source(cli, stand_in, ok=False)
    assert (
        "survey 5356056: its answers show what does not fit the round: row '县志办' (r-2-0002) "
        "is not a unit of the round; option '很好' is not on the scale" in refused
    )
    assert cli.json("source", "list") == []
    (tmp_path / "map.toml").write_text(
        '[units]\n"县志办" = "U05"\n[answers]\n"很好" = "满意"\n', "utf-8"
    )
    out = add_source(cli, stand_in, "--map", str(tmp_path / "map.toml"), "--link",
                     "https://wj.qq.com/s2/5356056/ab12/")  # fmt: skip
    assert "survey 5356056 at http://127.0.0.1:" in out and "token from openid" in out
    assert "1 of 1 answers checked: 2 rows, all units (2 of 5), 5 option texts" in out
    assert "webhook URL to set on the platform: https://<this service>/hooks/twj/" in out
    [row] = cli.json("source", "list")
    assert row["secrets"] == {"secret": VAR} and SECRET not in str(row)
    assert row["config"]["survey"] == 5356056 and "map" not in row["config"]
    assert stand_in.count("access_token") == 1  # the second add used the token the first got
    # The URL key proves deliveries: the command line prints it, --json (as the API) does not.
    key = hook_key(SECRET, "twj")
    assert f"/hooks/twj/{key}" in out and "senders POST to" not in out
    again = json.loads(
        add_source(cli, stand_in, "--map", str(tmp_path / "map.toml"), "--replace", "--json")
    )
    assert again["survey"] == 5356056 and key not in json.dumps(again)
    assert again["hook"] == "/hooks/twj/<key>"


def test_source_add_names_refused_credentials_and_an_empty_survey(
    cli, seats, stand_in, monkeypatch
) -> None:
    monkeypatch.setenv(VAR, "wrong")
    out = add_source(cli, stand_in, ok=False)
    assert (
        "access_token: refused (invalid_appid_or_secret): check app id wj-app-7f3e and the "
        f"secret in ${VAR}" in out
    )
    assert "wrong" not in out  # the secret itself is never shown
    monkeypatch.setenv(VAR, SECRET)
    stand_in.subscribed = False
    out = add_source(cli, stand_in, ok=False)
    assert "access_token: invalid_org_subscription: the team's plan does not include the API" in out
    stand_in.subscribed = True
    out = add_source(cli, stand_in)
    assert "note: no answers yet, so no row or option could be checked" in out


def test_a_poll_pages_with_last_answer_id_until_an_empty_list_and_fetches_one_token(
    cli, seats, stand_in
) -> None:
    add_source(cli, stand_in)
    stand_in.answers = answers_of(seats)
    stand_in.calls.clear()
    TOKENS.clear()  # as a new process starts
    engine, rules = make_engine(cli.db), load_config({}).rules
    first = poll_source(engine, "twj", rules, {VAR: SECRET}, per_page=2, batch=3)
    # Pages of 2 gathered into batches of at least 3: 2+2 stored, then 1 and the empty list.
    assert (first.error, first.new, first.statuses["accepted"], first.pages) == (None, 5, 5, 2)
    assert stand_in.calls == ["access_token"] + ["list_answers"] * 4  # 2 + 2 + 1 + empty
    assert cursor(cli) == {"last_answer_id": 5}
    stand_in.calls.clear()
    idle = poll(cli)  # the token is still good: one call
    assert (idle["new"], idle["unchanged"], stand_in.calls) == (0, 0, ["list_answers"])
    full = poll(cli, "twj", "--full")
    assert (full["new"], full["updated"], full["unchanged"]) == (0, 0, 5)
    assert stored(cli) == {str(n): ("accepted", 1) for n in range(1, 6)}


def test_an_expired_token_is_renewed_once_and_a_token_refused_twice_fails_the_poll_cleanly(
    cli, seats, stand_in
) -> None:
    add_source(cli, stand_in)
    stand_in.answers = answers_of(seats)[:2]
    stand_in.expire_token()  # the token cached by source add has expired
    stand_in.calls.clear()
    renewed = poll(cli)
    assert (renewed["error"], renewed["new"]) == (None, 2)
    assert stand_in.calls == ["list_answers", "access_token", "list_answers", "list_answers"]
    # Someone else fetches tokens for the same app: ours is refused right after we fetch it.
    stand_in.answers.append(answers_of(seats)[2])
    TOKENS.clear()
    stand_in.calls.clear()
    original = stand_in._access_token

    def and_another(query):
        answer = original(query)
        stand_in.expire_token()
        return answer

    stand_in._access_token = and_another
    out = cli("poll", ok=False)
    assert "FAILED: list_answers: the platform refused an access token fetched just now" in out
    assert stand_in.count("access_token") == 1  # never a second fetch in one poll
    assert cursor(cli) == {"last_answer_id": 2} and "3" not in stored(cli)
    stand_in._access_token = original
    [row] = cli.json("source", "list")
    assert "refused an access token fetched just now" in row["last_error"]
    assert poll(cli)["new"] == 1  # the next poll recovers


def test_token_refusal_by_http_401_and_rate_limited_tokens(cli, seats, stand_in) -> None:
    add_source(cli, stand_in)
    stand_in.refusal, stand_in.answers = "http", answers_of(seats)[:1]
    stand_in.expire_token()
    assert poll(cli)["new"] == 1  # a 401 is a refused token too, renewed once
    TOKENS.clear()
    stand_in.token_limit = 0
    out = cli("poll", ok=False)
    assert "access_token: request_rate_limited: access tokens are fetched too often" in out


def test_5xx_and_a_timeout_leave_the_cursor_where_it_was(cli, seats, stand_in) -> None:
    add_source(cli, stand_in)
    stand_in.answers = answers_of(seats)[:2]
    engine, rules = make_engine(cli.db), load_config({}).rules
    policy = RetryPolicy(read_timeout=0.2, attempts=2, base_delay=0.01)
    assert poll_source(engine, "twj", rules, {VAR: SECRET}, policy=policy).new == 2
    stand_in.answers += answers_of(seats)[2:4]
    for _ in range(2):
        stand_in.fail("list_answers", "http", (503, {"Retry-After": "0"}))
    failed = poll_source(engine, "twj", rules, {VAR: SECRET}, policy=policy)
    assert failed.error == "list_answers: HTTP 503; gave up after 2 attempts"
    assert (failed.new, cursor(cli)) == (0, {"last_answer_id": 2})
    for _ in range(2):
        stand_in.fail("list_answers", "slow", 0.3)
    slow = poll_source(engine, "twj", rules, {VAR: SECRET}, policy=policy)
    assert slow.error == "list_answers: no answer within 0.2 s; gave up after 2 attempts"
    assert (slow.new, cursor(cli)) == (0, {"last_answer_id": 2})
    time.sleep(0.4)  # let the stand-in finish its slow answers
    assert poll_source(engine, "twj", rules, {VAR: SECRET}, policy=policy).new == 2
    assert cursor(cli) == {"last_answer_id": 4}


def test_beijing_times_against_the_rounds_window_and_unfit_answers_kept_rejected(
    cli, seats, stand_in
) -> None:
    add_source(cli, stand_in)
    stand_in.answers = [
        # 20:00 on the last day in Beijing is inside (it would be 04:00 on Dec 1 read as UTC).
        make_answer(1, seats[0], "2026-11-30 20:00:00", ROWS),
        # 23:30 the evening before the round opens is outside (inside if read as UTC).
        make_answer(2, seats[1], "2026-10-31 23:30:00", ROWS),
        make_answer(3, seats[2], "2026-11-20 10:00:00", {**ROWS, "县志办": "满意"}),
        make_answer(4, None, "2026-11-20 10:00:00", ROWS),
    ]
    result = poll(cli)
    assert (result["new"], result["accepted"], result["rejected"]) == (4, 1, 3)
    with session_scope(make_engine(cli.db)) as s:
        reasons = dict(s.execute(select(Ballot.response_id, Ballot.reason)).all())
    assert reasons["2"] == (
        "submitted at 2026-10-31T23:30:00+08:00, before the round opened (2026-11-01T00:00:00+08:00)"
    )
    assert reasons["1"] is None
    assert "row '县志办' (r-6-0006) is not a unit of the round" in str(reasons["3"])
    assert "no seat token in openid" in str(reasons["4"])


def links(path) -> dict[str, str]:
    rows = [line.split(",") for line in path.read_text(encoding="utf-8-sig").splitlines()[1:]]
    return {row[0]: row[3] for row in rows}


def test_links_carry_the_token_in_openid_or_the_configured_parameter(
    cli, seats, stand_in, tmp_path
) -> None:
    add_source(cli, stand_in, "--link", "https://wj.qq.com/s2/5356056/ab12/")
    out = tmp_path / "links.csv"
    assert "5 links" in cli("panel", "links", ROUND, "--source", "twj", "-o", str(out))
    assert links(out)["P1"] == f"https://wj.qq.com/s2/5356056/ab12/?openid={seats[0]}"
    add_source(cli, stand_in, "--link", "https://wj.qq.com/s2/5356056/ab12/?lang=zh",
               "--token-field", "seat", "--replace")  # fmt: skip
    cli("panel", "links", ROUND, "--source", "twj", "-o", str(out))
    assert links(out)["P2"] == f"https://wj.qq.com/s2/5356056/ab12/?lang=zh&seat={seats[1]}"
    add_source(cli, stand_in, name="bare")
    missing = cli("panel", "links", ROUND, "--source", "bare", "-o", str(out), ok=False)
    assert "source bare has no --link (the survey's share link)" in missing


def test_a_429_is_waited_out_as_its_retry_after_says_and_a_refusal_in_the_body_is_named(
    cli, seats, stand_in
) -> None:
    add_source(cli, stand_in)
    stand_in.answers = answers_of(seats)[:1]
    with session_scope(make_engine(cli.db)) as s:
        source = s.scalars(select(Source)).one()
        settings = PLATFORM.settings("twj", source.config, {VAR: SECRET}, source.mapping)
    stand_in.fail("list_answers", "http", (429, {"Retry-After": "0"}))
    stand_in.calls.clear()
    poller = PLATFORM.polling.open(settings, policy=RetryPolicy(attempts=2, base_delay=5.0))
    try:
        page = poller.poll(None)
        assert [r.key for r in page.records] == ["1"] and page.cursor == {"last_answer_id": 1}
        assert poller.api.http.waits == [0.0]  # Retry-After, not the 2.5–5 s backoff
        # The page, then the empty list; the 429 cost one request more.
        assert poller.calls == {"list_answers": 2} and stand_in.count("list_answers") == 3
    finally:
        poller.close()
    stand_in.survey = 42  # the platform no longer knows the survey
    out = cli("poll", ok=False)
    assert "FAILED: list_answers: refused (survey_not_found)" in out
