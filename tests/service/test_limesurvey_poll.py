"""Polling LimeSurvey: exactly once, incomplete responses re-checked, failures leave the cursor.

Every test runs on SQLite and PostgreSQL against the fake RemoteControl endpoint (real HTTP).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from connectors.http import RetryPolicy
from jobs.poll import PollFailed, poll_source
from service.config import load_config
from service.models.ballots import Ballot
from service.models.sources import Source
from service.store.engine import make_engine, session_scope
from tests.fake_limesurvey import ROUND, FakeLimeSurvey, answer_as_seats, setup_round

PASSWORD = "s3cret-pw"


@pytest.fixture(autouse=True)
def ls_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LS_PASSWORD", PASSWORD)


@pytest.fixture
def fake():
    with FakeLimeSurvey() as server:
        yield server


@pytest.fixture
def source(cli, tmp_path: Path, fake: FakeLimeSurvey) -> list[str]:
    """Round 2026-11 with five seats, source ``ls`` on the fake, J01..J05 answering as the seats."""
    tokens = setup_round(cli, tmp_path)
    (tmp_path / "scale.toml").write_text("factor = 10\n", encoding="utf-8")
    cli(
        "source", "add", "ls", "--kind", "limesurvey", "--round", ROUND, "--url", fake.url,
        "--survey", "248135", "--username", "admin", "--password-env", "LS_PASSWORD",
        "--scale", str(tmp_path / "scale.toml"),
    )  # fmt: skip
    answer_as_seats(fake, tokens)
    fake.calls.clear()
    return tokens


def poll(cli, *args: str) -> dict:
    [result] = cli.json("poll", *args)
    return result


def stored(cli) -> dict[str, tuple[str, int]]:
    """response id -> (status, versions) of every stored ballot."""
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


def test_polling_twice_stores_nothing_twice(cli, fake, source) -> None:
    first = poll(cli)
    assert (first["new"], first["accepted"], first["rejected"]) == (3, 2, 1)
    second = poll(cli)
    assert (second["new"], second["updated"], second["unchanged"]) == (0, 0, 0)
    full = poll(cli, "ls", "--full")  # every id read again: recognised, not doubled
    assert (full["new"], full["updated"], full["unchanged"]) == (0, 0, 3)
    assert stored(cli) == {"1": ("accepted", 1), "3": ("rejected", 1), "5": ("accepted", 1)}


def test_with_nothing_new_a_poll_is_three_calls_and_no_export(cli, fake, source) -> None:
    poll(cli)
    fake.calls.clear()
    fake.exports.clear()
    out = cli("poll", "ls")
    assert "ls (round 2026-11): 0 new, 0 updated, 0 rejected, 0 unchanged" in out
    assert fake.calls == ["get_session_key", "get_summary", "release_session_key"]
    assert fake.exports == []


def test_a_response_completed_after_the_first_poll_is_counted_once(cli, fake, source) -> None:
    poll(cli)
    assert cursor(cli)["pending"] == [2, 4, 6]
    # J02 goes back to the survey and finishes it: LimeSurvey completes row 2 in place.
    row = fake.row(2)
    row.update({"submitdate": "2026-11-27 10:00:00", "lastpage": 2})
    row.update({f"SCORES[U0{i}]": v for i, v in enumerate(["3", "5", "6", "6", "8"], start=1)})
    fake.exports.clear()
    second = poll(cli)
    assert (second["new"], second["accepted"]) == (1, 1)
    assert fake.exports == [("all", 7, None), ("complete", 2, 6)]  # new ids, then pending ids only
    assert cursor(cli)["pending"] == [4, 6]
    third = poll(cli)
    assert third["new"] == 0
    assert stored(cli)["2"] == ("accepted", 1)


def test_several_rows_of_one_seat_resolve_by_supersession(cli, fake, source) -> None:
    poll(cli)
    # J01 answers again in a new browser session: a new row under the same access code.
    again = {**fake.row(1), "id": 7, "submitdate": "2026-11-28 09:00:00", "SCORES[U01]": "1"}
    fake.responses.append(again)
    result = poll(cli)
    assert (result["new"], result["accepted"]) == (1, 1)
    assert stored(cli)["1"] == ("superseded", 1) and stored(cli)["7"] == ("accepted", 1)
    # Row 4 (J03's abandoned first visit) never became a ballot; row 5 is J03's.
    assert "4" not in stored(cli) and stored(cli)["5"] == ("accepted", 1)


def test_submission_times_are_read_in_the_servers_zone(cli, fake, source) -> None:
    poll(cli)
    with session_scope(make_engine(cli.db)) as s:
        at = s.scalars(select(Ballot.submitted_at).where(Ballot.response_id == "1")).one()
    assert at.astimezone(UTC) == datetime(2026, 11, 25, 23, 53, 45, tzinfo=UTC)  # 07:53:45 +08


def test_an_rpc_error_fails_the_poll_names_the_call_and_keeps_the_cursor(cli, fake, source) -> None:
    poll(cli)
    before = cursor(cli)
    fake.responses.append({**fake.row(5), "id": 7, "submitdate": "2026-11-28 09:00:00"})
    fake.fail("export_responses", "status", "No permission")
    out = cli("poll", ok=False)
    assert "ls (round 2026-11): FAILED: LimeSurvey export_responses: No permission" in out
    assert cursor(cli) == before
    assert "last error: LimeSurvey export_responses: No permission" in cli("source", "list")
    assert fake.sessions == set()  # the key was released all the same
    assert poll(cli)["new"] == 1
    assert "last error" not in cli("source", "list")


def test_an_expired_session_key_is_renewed_mid_poll(cli, fake, source) -> None:
    fake.fail("export_responses", "expire")
    assert poll(cli)["new"] == 3
    assert fake.calls == [
        "get_session_key", "get_summary", "export_responses", "get_session_key",
        "export_responses", "release_session_key",
    ]  # fmt: skip


def test_a_429_with_retry_after_is_honoured_then_the_poll_succeeds(cli, fake, source) -> None:
    fake.fail("get_summary", "http", (429, {"Retry-After": "1"}))
    start = time.monotonic()
    result = poll(cli)
    assert time.monotonic() - start >= 1.0
    assert result["new"] == 3 and result["error"] is None
    assert fake.calls[:3] == ["get_session_key", "get_summary", "get_summary"]


def test_a_timeout_leaves_the_cursor_where_it_was(cli, fake, source) -> None:
    poll(cli)
    before = cursor(cli)
    fake.responses.append({**fake.row(5), "id": 7, "submitdate": "2026-11-28 09:00:00"})
    fake.fail("export_responses", "slow", 1.5)
    fake.fail("export_responses", "slow", 1.5)
    engine = make_engine(cli.db)
    rules = load_config({}).rules
    policy = RetryPolicy(read_timeout=0.3, attempts=2, base_delay=0.01)
    failed = poll_source(engine, "ls", rules, {"LS_PASSWORD": PASSWORD}, policy=policy)
    assert (
        failed.error
        == "LimeSurvey export_responses: no answer within 0.3 s; gave up after 2 attempts"
    )
    assert (failed.new, cursor(cli)) == (0, before)
    assert "7" not in stored(cli)
    time.sleep(1.5)  # let the fake finish its slow answers
    again = poll_source(engine, "ls", rules, {"LS_PASSWORD": PASSWORD}, policy=policy)
    assert (again.error, again.new) == (None, 1)
    assert cursor(cli)["max_id"] == 7


def test_a_source_without_its_password_fails_alone(cli, fake, source, monkeypatch) -> None:
    monkeypatch.delenv("LS_PASSWORD")
    out = cli("poll", ok=False)
    assert "FAILED: environment variable LS_PASSWORD is not set" in out
    assert fake.calls == []


def test_a_database_refusal_mid_poll_leaks_no_token_and_keeps_the_cursor(
    cli, fake, source, caplog: pytest.LogCaptureFixture
) -> None:
    """The driver's message quotes the row it refused (a seat token in it); what the poll logs,
    keeps as the source's last error and raises must not (issue #9 item 10)."""
    token = source[0]
    engine = make_engine(cli.db)
    with engine.begin() as conn:  # a real refusal of the rows carrying that token
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "create trigger refuse_it before insert on ballots when new.raw like "
                    f"'%{token}%' begin select raise(abort, 'refused'); end"
                )
            )
        else:
            conn.execute(
                text(
                    f"alter table ballots add constraint refuse_it check (raw not like '%{token}%')"
                )
            )
    caplog.set_level("DEBUG")
    try:
        with pytest.raises(PollFailed) as failed:
            poll_source(engine, "ls", load_config({}).rules, {"LS_PASSWORD": PASSWORD})
        out = cli("poll", ok=False)
    finally:
        with engine.begin() as conn:
            drop = (
                "drop trigger refuse_it"
                if engine.dialect.name == "sqlite"
                else ("alter table ballots drop constraint refuse_it")
            )
            conn.execute(text(drop))
    assert "IntegrityError" in str(failed.value) and failed.value.__cause__ is None
    assert "poll of source 'ls' failed" in out
    with session_scope(engine) as s:
        last_error = s.scalars(select(Source.last_error)).one()
    assert "IntegrityError" in last_error
    for seen in (str(failed.value), out, last_error, caplog.text):
        assert token not in seen
    assert cursor(cli) is None  # nothing stored, nothing skipped: the next poll reads it all
    assert poll(cli)["new"] == 3  # as a first poll of this fake takes in


def test_a_closed_rounds_sources_leave_the_routine_schedule(cli, fake, source) -> None:
    """The close job polls a closed round's sources one last time with the close as the time of
    receipt; a routine poll after the close would store what it brings as late, so the
    scheduler's list of due sources leaves them out."""
    from jobs.poll import due_sources

    engine = make_engine(cli.db)
    with session_scope(engine) as s:
        assert due_sources(s) == ["ls"]
    cli("round", "close", ROUND)
    with session_scope(engine) as s:
        assert due_sources(s) == []


def test_what_a_poll_brings_counts_as_received_when_the_poll_began(cli, fake, source) -> None:
    """A poll that began before the round closed stores its answers as received then, however
    long the platform takes to answer: here the round is closed while the export is slow."""
    import threading

    from service.store.work import close_round

    config = load_config({"LS_PASSWORD": PASSWORD}, cli.config, cli.db)
    engine = make_engine(cli.db)
    fake.fail("export_responses", "slow", 1.5)

    def close_meanwhile() -> None:
        time.sleep(0.5)
        with session_scope(engine) as s:
            close_round(s, ROUND)

    closer = threading.Thread(target=close_meanwhile)
    closer.start()
    result = poll_source(engine, "ls", config.rules, config.environ)
    closer.join()
    assert result.error is None and result.new
    # As in a poll of an open round (response 3 is rejected for reasons of its own).
    assert stored(cli) == {"1": ("accepted", 1), "3": ("rejected", 1), "5": ("accepted", 1)}


def test_a_routine_poll_that_runs_after_the_close_leaves_the_round_to_its_close_job(
    cli, fake, source
) -> None:
    """The scheduler enqueued a routine poll while the round was open; it waited behind other
    jobs and runs after ``POST …/close``. Run then, it would store the platform's answers as
    received after the close, all rejected; it must do nothing, not even call the platform, and
    the close job's poll (as of the close) takes them in."""
    from jobs.poll import poll_source_job
    from service.queue import INLINE_CONFIG
    from service.store.rounds import find_round
    from service.store.work import close_round, closed_at

    config = load_config({"LS_PASSWORD": PASSWORD}, cli.config, cli.db)
    engine = make_engine(cli.db)
    with session_scope(engine) as s:
        close_round(s, ROUND)
    with session_scope(engine) as s:
        closed = closed_at(s, find_round(s, ROUND))
    inline = INLINE_CONFIG.set(config)
    try:
        routine = poll_source_job("ls")
        assert routine["skipped"] == "the round is closed", routine
        assert (routine["new"], stored(cli), fake.calls) == (0, {}, [])
        last = poll_source_job("ls", closed.isoformat())
    finally:
        INLINE_CONFIG.reset(inline)
    assert (last["new"], last["skipped"]) == (3, None)
    assert stored(cli) == {"1": ("accepted", 1), "3": ("rejected", 1), "5": ("accepted", 1)}
