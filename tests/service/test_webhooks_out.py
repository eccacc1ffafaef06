"""Outgoing webhooks for automation (issue #5 item 7): signed per Standard Webhooks, retried
with backoff, every attempt logged, link-local and metadata addresses refused. The schedule's
fine print and the address policy are in test_outbox_schedule.py and
tests/connectors/test_address_policy.py (issue #9 item 9)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from rq.registry import ScheduledJobRegistry

from connectors.signatures import verify
from jobs import notify
from service.cli import main
from service.store.engine import session_scope
from service.store.outbox import emit
from tests.harness.deliveries import ballot, new_secret
from tests.harness.receiver import receiver

ROUND = "2026-10"
EVENTS = "ballot.accepted,round.closed,ranking.computed,circular.published"
LAST = "circular.published"  # the last event a round's close emits
SECRET_VAR = "PINGYI_TEST_HOOK_SECRET"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@pytest.fixture
def in_process_jobs(service, monkeypatch: pytest.MonkeyPatch) -> str:
    """Let this process run job functions as a worker would (they read the environment)."""
    secret = new_secret()
    service.env[SECRET_VAR] = secret
    for var in ("DATABASE_URL", "REDIS_URL", SECRET_VAR):
        monkeypatch.setenv(var, service.env[var])
    monkeypatch.delenv("PINGYI_CONFIG", raising=False)
    return secret


def _later(seconds: float):
    """A clock ``seconds`` ahead of the real one, for the notify job."""
    return lambda: datetime.now(UTC) + timedelta(seconds=seconds)


def test_events_arrive_signed_and_a_failed_delivery_is_retried_and_logged(
    service, in_process_jobs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = in_process_jobs
    tokens = service.setup_round(ROUND, seats=10)
    source_secret = service.add_source("formbricks")
    with receiver() as hook:
        # The endpoint fails the close's last event once. Its retry is due 10 s after that
        # failure, and the checks below must run before then: failing an event of the first
        # burst instead would put the whole close (ranking, the PDF, every RQ work horse
        # importing its job modules anew) inside those 10 s.
        hook.refuse(LAST, 500)
        service.cli("subscription", "add", hook.url, "--events", EVENTS, "--secret-env", SECRET_VAR)
        web = service.start_web(workers=1)
        for i in range(3):
            r = web.deliver("formbricks", source_secret, ballot(f"r{i}", tokens[i]))
            assert r.status_code == 202
        service.burst_worker()
        admin = service.token("admin")
        assert web.post(f"/api/v1/rounds/{ROUND}/close", token=admin).status_code == 202
        service.burst_worker()

        got = list(hook.requests)
        assert got, "no event arrived"
        for request in got:
            msg_id = verify(secret, request.headers, request.body)
            assert msg_id == request.headers["webhook-id"]
            assert request.headers["content-type"] == "application/json"
            payload = json.loads(request.body)
            assert set(payload) == {"type", "timestamp", "data"}
            assert payload["data"]["round"] == ROUND
            assert not any(t in request.body.decode() for t in tokens)  # no seat token
        delivered = [json.loads(r.body)["type"] for r in got if r.status == 200]
        assert set(delivered) == set(EVENTS.split(",")) - {LAST}
        (refused,) = [r for r in got if r.status != 200]
        assert json.loads(refused.body)["type"] == LAST
        per_event = dict(service.rows("select event, count(*) from outbox group by event"))
        assert per_event["ballot.accepted"] == 3 and per_event["round.closed"] == 1
        assert per_event["circular.published"] == 1 and per_event["ranking.computed"] >= 1

        # Every attempt is logged, with its HTTP status.
        attempts = service.rows(
            "select o.message_id, a.status_code, a.error, a.at from outbox_attempts a "
            "join outbox o on o.id = a.outbox_id order by a.id"
        )
        assert [(a[0], a[1]) for a in attempts] == [
            (r.headers["webhook-id"], r.status) for r in got
        ]
        (failed_attempt,) = [a for a in attempts if a[0] == refused.headers["webhook-id"]]
        assert failed_attempt[2] == "HTTP 500"
        failed = service.rows(
            "select id, attempts, status, next_attempt_at, last_error from outbox "
            "where message_id = :m",
            m=refused.headers["webhook-id"],
        )[0]
        event_id = failed[0]
        assert failed[1:3] == (1, "pending") and failed[4] == "HTTP 500"
        # Due BACKOFF[0] (10 s) after the failed attempt.
        due = _utc(failed[3]) - _utc(failed_attempt[3])
        assert abs(due - timedelta(seconds=notify.BACKOFF[0])) < timedelta(seconds=1), due
        assert _utc(failed[3]) > datetime.now(UTC) or pytest.fail("the test ran too slowly")
        assert service.scalar("select count(*) from outbox where status <> 'delivered'") == 1
        # The job schedules no retry of its own: the database says when it is due, and the
        # sweep enqueues it then (one owner of retries).
        scheduled = ScheduledJobRegistry("notify", connection=Redis.from_url(service.redis_url))
        assert scheduled.get_job_ids() == []
        assert "events 0" in service.sweep()  # not due yet: the sweeper leaves it alone
        assert notify.deliver(event_id) == "skipped"  # and a stray job sends nothing early

        # The retry once it is due, run as the worker would run it: same message id, delivered.
        monkeypatch.setattr(notify, "now", _later(notify.BACKOFF[0]))
        assert notify.deliver(event_id) == "delivered"
        assert hook.requests[-1].headers["webhook-id"] == refused.headers["webhook-id"]
        verify(secret, hook.requests[-1].headers, hook.requests[-1].body)
        assert notify.deliver(event_id) == "skipped"  # delivered once is enough
        assert len(hook.requests) == len(got) + 1
        delivered = [json.loads(r.body)["type"] for r in hook.requests if r.status == 200]
        assert set(delivered) == set(EVENTS.split(","))
    rows = service.rows(
        "select status_code from outbox_attempts where outbox_id = :e order by id", e=event_id
    )
    assert [r[0] for r in rows] == [500, 200]
    assert service.scalar("select count(*) from outbox where status <> 'delivered'") == 0


def test_a_failing_endpoint_backs_off_on_schedule_and_is_given_up_at_the_end(
    service, in_process_jobs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.setup_round(ROUND, seats=2)
    with receiver() as hook:
        hook.statuses.extend([503] * 10)
        service.cli(
            "subscription", "add", hook.url, "--events", "round.closed", "--secret-env", SECRET_VAR
        )
        with session_scope(service.engine) as session:
            (event_id,) = emit(session, "round.closed", [{"round": ROUND}])
        ahead = 0.0
        for attempt, wait in enumerate(notify.BACKOFF[:2], start=1):
            before = datetime.now(UTC) + timedelta(seconds=ahead)
            assert notify.deliver(event_id) == "pending"
            status, attempts, next_at, error = service.rows(
                "select status, attempts, next_attempt_at, last_error from outbox where id = :e",
                e=event_id,
            )[0]
            assert (status, attempts, error) == ("pending", attempt, "HTTP 503")
            assert before + timedelta(seconds=wait) <= _utc(next_at)
            assert _utc(next_at) <= datetime.now(UTC) + timedelta(seconds=ahead + wait)
            ahead += wait
            monkeypatch.setattr(notify, "now", _later(ahead))  # the retry is due
        assert len(hook.requests) == 2
        # After the last step of the schedule the event is kept as failed, not retried.
        with service.engine.begin() as conn:
            from sqlalchemy import text

            conn.execute(
                text("update outbox set attempts = :n where id = :e"),
                {"n": len(notify.BACKOFF), "e": event_id},
            )
        assert notify.deliver(event_id) == "failed"
        assert notify.deliver(event_id) == "skipped"
        assert len(hook.requests) == 3
    codes = service.rows("select status_code from outbox_attempts where outbox_id = :e", e=event_id)
    assert [c[0] for c in codes] == [503, 503, 503]
    assert service.scalar("select last_error from outbox where id = :e", e=event_id) == "HTTP 503"


def test_an_unreachable_endpoint_is_logged_as_an_error(service, in_process_jobs: str) -> None:
    service.setup_round(ROUND, seats=2)
    with receiver() as hook:
        url = hook.url
    # The receiver is gone: nothing listens on its port any more.
    service.cli("subscription", "add", url, "--events", "round.closed", "--secret-env", SECRET_VAR)
    with session_scope(service.engine) as session:
        (event_id,) = emit(session, "round.closed", [{"round": ROUND}])
    assert notify.deliver(event_id) == "pending"
    code, error, ms = service.rows(
        "select status_code, error, duration_ms from outbox_attempts where outbox_id = :e",
        e=event_id,
    )[0]
    assert code is None and "could not connect to 127.0.0.1" in error and ms >= 0


REFUSED = (
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]:8080/hook",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[::ffff:169.254.169.254]/",
    "http://0xa9fea9fe/",  # 169.254.169.254 spelt in hex
    "http://169.254.169.254./",
    "http://100.100.100.200/latest/meta-data/",
    "http://192.0.0.192/opc/v2/instance/",  # Oracle Cloud metadata (issue #9 item 9)
    "http://[::ffff:192.0.0.192]/",
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://100.64.0.1/",
    "http://0.0.0.0:8080/",
    "file:///etc/passwd",
)


def test_link_local_and_metadata_subscriptions_are_refused(service) -> None:
    accepted = []
    for url in REFUSED:
        args = ("subscription", "add", url, "--events", "round.closed", "--secret-env", SECRET_VAR)
        result = service.cli.runner.invoke(main, ["--db", service.db_url, *args])
        if result.exit_code == 0:
            accepted.append(url)
        else:
            assert result.output.startswith("Error: "), result.output
    assert not accepted
    assert service.scalar("select count(*) from subscriptions") == 0
    # Loopback and private addresses stay allowed (automation on the same host or LAN), for
    # IPv4 and IPv6 alike.
    allowed = ("http://127.0.0.1:9/hook", "http://[::1]:9/hook", "http://10.1.2.3/hook")
    for url in allowed:
        service.cli(
            "subscription", "add", url, "--events", "round.closed", "--secret-env", SECRET_VAR
        )
    assert service.scalar("select count(*) from subscriptions") == len(allowed)


def test_a_deployment_can_refuse_loopback_and_private_subscribers(
    service, in_process_jobs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PINGYI_WEBHOOKS_ALLOW_LOOPBACK=0 / _PRIVATE=0 narrow the address policy where it is
    applied: when a subscription is added, and again before each delivery, so one added while
    loopback was allowed gets nothing once it is switched off. A typo is refused by name."""
    service.setup_round(ROUND, seats=2)

    def add(url: str, **env: str):
        args = ("subscription", "add", url, "--events", "round.closed", "--secret-env", SECRET_VAR)
        return service.cli.runner.invoke(main, ["--db", service.db_url, *args], env=env)

    no_loopback = add("http://127.0.0.1:9/hook", PINGYI_WEBHOOKS_ALLOW_LOOPBACK="0")
    assert no_loopback.exit_code == 1 and "loopback" in no_loopback.output
    no_private = add("http://10.1.2.3/hook", PINGYI_WEBHOOKS_ALLOW_PRIVATE="false")
    assert no_private.exit_code == 1 and "private" in no_private.output
    typo = add("http://10.1.2.3/hook", PINGYI_WEBHOOKS_ALLOW_PRIVATE="nope")
    assert typo.exit_code != 0 and "PINGYI_WEBHOOKS_ALLOW_PRIVATE" in typo.output
    assert service.scalar("select count(*) from subscriptions") == 0
    with receiver() as hook:
        assert add(hook.url).exit_code == 0  # allowed by default
        with session_scope(service.engine) as session:
            (event_id,) = emit(session, "round.closed", [{"round": ROUND}])
        monkeypatch.setenv("PINGYI_WEBHOOKS_ALLOW_LOOPBACK", "off")
        assert notify.deliver(event_id) == "pending"
        assert hook.requests == []  # nothing was sent
    (error,) = service.rows("select error from outbox_attempts where outbox_id = :e", e=event_id)[0]
    assert "loopback" in error
