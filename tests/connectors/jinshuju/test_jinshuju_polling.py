"""Polling the stand-in over real HTTP: the ``next`` mark followed page by page whatever the page
size, one request when nothing is new, a 429's reset honoured, 5xx retried, a refused key pair
never retried, and a timeout that leaves the stored cursor where it was."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from connectors.base import CredentialsError
from connectors.http import HttpError, RetryPolicy
from connectors.jinshuju.client import reset_seconds
from connectors.jinshuju.form import build_form_map
from connectors.jinshuju.platform import PLATFORM
from connectors.titles import parse_title_map
from tests.connectors.jinshuju.conftest import ENV, MAP, add_source
from tests.connectors.jinshuju.stand_in import FORM, SCHEMA, StandIn, make_entry
from tests.connectors.jinshuju.test_jinshuju_entries import CONTEXT, ROWS
from tests.fake_limesurvey import setup_round

FAST = RetryPolicy(connect_timeout=1, read_timeout=0.5, attempts=3, base_delay=0.01,
                   max_delay=0.02, max_total_wait=5)  # fmt: skip
IMPATIENT = RetryPolicy(connect_timeout=1, read_timeout=0.2, attempts=2, base_delay=0.01,
                        max_delay=0.02, max_total_wait=5)  # fmt: skip


def poller(url: str, env: dict[str, str] = ENV):
    forms, _ = build_form_map(FORM, SCHEMA, CONTEXT, parse_title_map(MAP))
    config = {"form": FORM, "url": url, "key_env": "JS_KEY", "secret_env": "JS_SECRET"}
    settings = PLATFORM.settings("js", config, env, forms.to_json())
    return PLATFORM.polling.open(settings, policy=FAST)


def drain(p, cursor=None, full=False) -> tuple[list, object]:
    records, first = [], True
    while True:
        page = p.poll(cursor, full=full and first)
        records += page.records
        cursor, first = page.cursor, False
        if page.done:
            return records, cursor


@pytest.mark.parametrize(
    ("size", "next_at_end", "expected"), [(2, False, 4), (3, True, 4), (50, False, 1)]
)
def test_pages_follow_next_and_an_idle_poll_is_one_request(size, next_at_end, expected) -> None:
    entries = [make_entry(n, f"t{n}", ROWS) for n in range(1, 8)]
    with StandIn(entries, page_size=size, next_at_end=next_at_end) as site:
        p = poller(site.url)
        records, cursor = drain(p)
        assert [r.ballot.id for r in records] == [str(n) for n in range(1, 8)]
        # The last page, or the empty one after it, ends the poll.
        assert site.count("entries") == expected and cursor["seen"] == 7
        again, cursor = drain(p, cursor)
        assert site.count("entries") == expected + 1  # idle: the last page read once more
        assert {r.ballot.id for r in again} <= {str(n) for n in range(1, 8)}
        site.entries += [make_entry(8, "t8", ROWS), make_entry(9, "t9", ROWS)]
        more, cursor = drain(p, cursor)
        assert {"8", "9"} <= {r.ballot.id for r in more} and cursor["seen"] == 9
        full, _ = drain(p, cursor, full=True)
        assert len(full) == 9 and dict(p.calls)["entries"] == site.count("entries")
        p.close()


def test_a_429_waits_for_its_reset_and_5xx_are_retried() -> None:
    with StandIn([make_entry(1, "t1", ROWS)]) as site:
        p = poller(site.url)
        site.fail("entries", "status", (429, {"X-RateLimit-Reset": "1"}, {"remaining": 0}))
        site.fail("entries", "status", (502, {}, {}))
        started = time.monotonic()
        records, _ = drain(p)
        assert len(records) == 1 and time.monotonic() - started >= 1.0
        assert p.api.http.waits[0] == 1.0 and site.count("entries") == 3
        # The reset in the body (a Unix time in milliseconds, just past) when no header says
        # it: no wait at all, where the client's own backoff would have waited a little.
        reset_ms = str(int((time.time() - 1) * 1000))
        site.fail("entries", "status", (429, {}, {"plan": "企业基础版", "reset_at": reset_ms}))
        drain(p)
        assert p.api.http.waits[-1] == 0.0
        # An hourly limit that resets in 50 minutes: not waited for; the poll fails, saying so.
        site.fail("entries", "status", (429, {"X-RateLimit-Reset": "3000"}, {}))
        with pytest.raises(HttpError, match="waiting 3000 s more would pass the 5 s limit"):
            p.poll(None)
        site.fail("entries", "status", (503, {}, {}), times=3)
        with pytest.raises(HttpError, match="HTTP 503; gave up after 3 attempts"):
            p.poll(None)


def test_a_refused_key_pair_is_named_and_not_retried() -> None:
    with StandIn([make_entry(1, "t1", ROWS)]) as site:
        p = poller(site.url, {**ENV, "JS_SECRET": "wrong"})
        with pytest.raises(CredentialsError) as refused:
            p.poll(None)
        assert "(from $JS_KEY and $JS_SECRET)" in str(refused.value)
        assert "wrong" not in str(refused.value) and site.count("entries") == 1


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30", 30.0), ("1700000060", 60.0), ("1700000060000", 60.0),
     ("2023-11-14T22:14:20Z", 60.0), ("Tue, 14 Nov 2023 22:14:20 GMT", 60.0),
     ("soon", None), ("-5", None), (None, None)],
)  # fmt: skip
def test_a_reset_is_read_in_each_of_its_forms(value, seconds) -> None:
    assert reset_seconds(value, now=1_700_000_000) == seconds


def test_a_timeout_leaves_the_stored_cursor_unmoved(
    cli, tmp_path: Path, jinshuju, monkeypatch
) -> None:
    """Entries are stored in batches, each with the cursor after it (two entries here): a poll
    whose second request times out keeps its first batch and the cursor after that batch, and
    the next poll resumes from there."""
    from connectors.jinshuju import platform
    from jobs.poll import poll_source
    from service.config import Config
    from service.store.engine import make_engine

    monkeypatch.setattr(platform, "BATCH", 2)
    tokens = setup_round(cli, tmp_path)
    entries = [make_entry(n, tokens[n - 1], ROWS) for n in range(1, 6)]
    with StandIn(entries, page_size=2) as site:
        add_source(cli, tmp_path, site.url)
        engine, rules = make_engine(cli.db), Config().rules
        site.fail("entries", "ok")
        site.fail("entries", "slow", 0.4, times=2)
        failed = poll_source(engine, "js", rules, ENV, policy=IMPATIENT)
        assert "no answer within 0.2 s; gave up after 2 attempts" in failed.error
        assert failed.new == 2
        [row] = cli.json("source", "list")
        assert row["cursor"] == {"next": 3, "seen": 2} and "no answer within" in row["last_error"]
        [resumed] = cli.json("poll", "js")
        assert (resumed["new"], resumed["unchanged"]) == (3, 0)
        [row] = cli.json("source", "list")
        assert row["cursor"] == {"next": 5, "seen": 5} and row["last_error"] is None
