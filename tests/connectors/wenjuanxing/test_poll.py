"""OpenAPI polling (action 1001002) against the stand-in over real HTTP, on SQLite and PostgreSQL:
pages under one ``min_index``, one request when idle, pushes and polls reconciling, and every
failure (429 with a reset, 5xx, a timeout, a refused signature, a stale ``ts``) leaving the
cursor where it was."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.http import RetryPolicy
from jobs.poll import poll_source
from service.models.ballots import Ballot
from service.models.sources import Source
from service.rules import Rules
from service.store.engine import make_engine, session_scope
from tests.connectors.wenjuanxing.fake_wjx import APP_ID, APP_KEY, FakeWjx, answer
from tests.connectors.wenjuanxing.wjx import ACTIVITY, add_source, post, push_body, web
from tests.fake_limesurvey import setup_round

FAST = RetryPolicy(read_timeout=1.0, attempts=3, base_delay=0.01, max_total_wait=5.0)
ENV = {"WJX_APP_KEY": APP_KEY}


@pytest.fixture(autouse=True)
def app_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WJX_APP_KEY", APP_KEY)


def month(tokens: list[str], count: int, first: int = 1) -> list[dict]:
    """``count`` answers from the round's seats in turn, sequence numbers from ``first``."""
    return [
        answer(i, tokens[i % len(tokens)], [1, 2, 1, 2, (i % 4) + 1], f"2026-11-{10 + i // 20} 09:{i % 60:02d}:00")
        for i in range(first, first + count)
    ]  # fmt: skip


def add_polled(cli, tmp_path: Path, fake: FakeWjx) -> None:
    add_source(cli, tmp_path, "wjx", "--app-id", APP_ID, "--app-key-env", "WJX_APP_KEY",
               "--url", fake.url)  # fmt: skip


def cursor(cli) -> object:
    with session_scope(make_engine(cli.db)) as s:
        return s.scalars(select(Source.cursor).where(Source.name == "wjx")).one()


def poll(cli, **options):
    options.setdefault("policy", FAST)
    return poll_source(make_engine(cli.db), "wjx", Rules(), ENV, **options)


def test_a_poll_pages_through_new_answers_and_an_idle_poll_is_one_request(cli, tmp_path: Path):
    tokens = setup_round(cli, tmp_path)
    with FakeWjx(int(ACTIVITY), month(tokens, 120)) as fake:
        add_polled(cli, tmp_path, fake)
        [got] = cli.json("poll", "wjx")
        assert (got["new"], got["error"], got["rejected"]) == (120, None, 0)
        assert [r["page_index"] for r in fake.requests] == [1, 2, 3]
        assert {r["min_index"] for r in fake.requests} == {0} and cursor(cli) == {"min_index": 120}
        fake.requests.clear()
        assert cli.json("poll", "wjx")[0]["new"] == 0
        assert len(fake.requests) == 1 and fake.requests[0]["min_index"] == 120
        fake.answers += month(tokens, 2, first=121)
        assert cli.json("poll", "wjx")[0]["new"] == 2 and cursor(cli) == {"min_index": 122}
        again = cli.json("poll", "wjx", "--full")[0]  # read everything again: nothing doubles
        assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 122)
    with session_scope(make_engine(cli.db)) as s:
        rows = s.execute(select(Ballot.response_id, Ballot.status)).all()
    assert len(rows) == 122 and {rid for rid, _ in rows} == {str(i) for i in range(1, 123)}
    assert sum(status == "accepted" for _, status in rows) == 5  # one per seat, the latest


def test_a_push_and_the_poll_of_the_same_answer_are_one_ballot(cli, tmp_path: Path):
    tokens = setup_round(cli, tmp_path)
    with FakeWjx(int(ACTIVITY), [answer(1, tokens[0], [1, 2, 3, 4, 1], "2026-11-20 10:00:00")]) as fake:  # fmt: skip
        add_polled(cli, tmp_path, fake)
        assert post(web(cli), push_body(1, tokens[0], [1, 2, 3, 4, 1])).status_code == 202
        [got] = cli.json("poll", "wjx")
        assert (got["new"], got["unchanged"]) == (0, 1)


def test_failures_leave_the_cursor_and_the_next_poll_takes_up_again(cli, tmp_path: Path):
    tokens = setup_round(cli, tmp_path)
    with FakeWjx(int(ACTIVITY), month(tokens, 60)) as fake:
        add_polled(cli, tmp_path, fake)
        fake.fail("http", (429, {"Retry-After": "1"}))  # throttled, with its reset: waited out
        started = time.monotonic()
        assert poll(cli).new == 60 and time.monotonic() - started >= 1.0
        fake.answers += month(tokens, 3, first=61)
        before = cursor(cli)
        for _ in range(FAST.attempts):
            fake.fail("http", (503, {}))
        result = poll(cli)
        assert "HTTP 503; gave up after 3 attempts" in result.error and cursor(cli) == before
        assert "HTTP 503" in poll_error(cli)
        fake.faults += [("slow", 0.4), ("slow", 0.4)]
        hasty = RetryPolicy(read_timeout=0.2, attempts=2, base_delay=0.01)
        result = poll(cli, policy=hasty)
        assert "no answer within 0.2 s" in result.error and cursor(cli) == before
        fake.fail("http", (429, {"Retry-After": "120"}))  # longer than a signature lives
        waited = poll(cli)
        assert "would pass the 5 s limit" in waited.error and cursor(cli) == before
        stale = poll(cli, clock=lambda: time.time() - 60)
        assert stale.error.startswith("问卷星 OpenAPI 1001002 refused: ts 已过期 (app id wjx-app-1")
        assert cursor(cli) == before
        assert poll(cli).new == 3 and cursor(cli) == {"min_index": 63}


def test_a_page_that_failed_is_read_again_and_a_wrong_key_is_named_not_shown(cli, tmp_path: Path):
    tokens = setup_round(cli, tmp_path)
    with FakeWjx(int(ACTIVITY), month(tokens, 70)) as fake:
        add_polled(cli, tmp_path, fake)
        fake.faults += [("none", None)] + [("http", (500, {}))] * FAST.attempts
        failed = poll(cli)  # page 1 stored, page 2 failed
        assert (failed.new, cursor(cli)) == (50, {"min_index": 0, "page": 2, "max_seen": 50})
        assert poll(cli).new == 20 and cursor(cli) == {"min_index": 70}
        wrong = poll_source(
            make_engine(cli.db), "wjx", Rules(), {"WJX_APP_KEY": "guess"}, policy=FAST
        )
        assert wrong.error == (
            "问卷星 OpenAPI 1001002 refused: 签名错误 (app id wjx-app-1, key in $WJX_APP_KEY)"
        )
        assert APP_KEY not in str(fake.requests)


def poll_error(cli) -> str:
    with session_scope(make_engine(cli.db)) as s:
        return s.scalars(select(Source.last_error).where(Source.name == "wjx")).one() or ""


def test_a_push_only_source_is_polled_without_a_request(cli, tmp_path: Path):
    tokens = setup_round(cli, tmp_path)
    add_source(cli, tmp_path)
    assert post(web(cli), push_body(1, tokens[0], [1] * 5)).status_code == 202
    result = poll(cli)
    assert (result.error, result.new, result.calls) == (None, 0, {})
