"""No seat token or ballot text in logs, in RQ's record of a failed job, or in ``inbox.error``
(issue #9 item 10), when the database refuses a delivery's ballot for real.

PostgreSQL's own messages quote the failing row ("Failing row contains (…)"), and psycopg puts
them in the exception's text whatever SQLAlchemy's ``hide_parameters`` says; RQ logs and keeps
the whole traceback of a failed job, chained exceptions included. The ingest job runs here in an
RQ worker in this process (RQ's SimpleWorker), against the test's PostgreSQL and Redis.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from redis import Redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import text

from jobs import inbox as inbox_job
from service.context import Context
from service.queue import INBOX, JobQueue
from service.store.inbox import InboxWriter
from tests.harness.deliveries import ballot, body_of
from tests.harness.proxy import TcpProxy, address_of, via_proxy

ROUND = "2026-10"
SOURCE = "formbricks"


@pytest.fixture
def setup(
    service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[tuple[str, str]]:
    """A round, a source, one stored delivery whose ballot the database will refuse, and the
    job's environment; returns (token, ballot text)."""
    tokens = service.setup_round(ROUND, seats=3)
    service.add_source(SOURCE)
    for var in ("DATABASE_URL", "REDIS_URL", f"PINGYI_TEST_SECRET_{SOURCE.upper()}"):
        monkeypatch.setenv(var, service.env[var])
    monkeypatch.delenv("PINGYI_CONFIG", raising=False)
    token, words = tokens[0], f"答复敷衍-{uuid.uuid4().hex}"
    data = ballot("r-1", token, U1="不满意")
    data["comments"] = {"U1": words}
    assert InboxWriter(service.engine).store(SOURCE, "msg_1", body_of(data), {})
    # A real refusal by the database, of the row carrying both (its message quotes the row).
    # Dropped afterwards: the schema serves other tests of this process.
    with service.engine.begin() as conn:
        conn.execute(
            text(
                "alter table ballots add constraint test_refuses_this_ballot "
                f"check (raw not like '%{words}%')"
            )
        )
    caplog.set_level(logging.DEBUG)
    try:
        yield token, words
    finally:
        with service.engine.begin() as conn:
            conn.execute(text("alter table ballots drop constraint test_refuses_this_ballot"))


def _run_worker(redis_url: str, retries: bool = True) -> str:
    """Enqueue the ingest and let an RQ worker run it; returns the job id. ``retries=False``
    enqueues it without the queue's retries, so that a failure is final and RQ keeps its
    record of it (the failed-job registry, the result with the traceback)."""
    queue = JobQueue(redis_url)
    if retries:
        job_id = queue.enqueue(INBOX, "jobs.inbox.ingest_inbox", SOURCE).id
    else:
        job_id = queue.queue(INBOX).enqueue("jobs.inbox.ingest_inbox", SOURCE).id
    worker = SimpleWorker([queue.queue(INBOX)], connection=queue.redis, serializer=JSONSerializer)
    worker.work(burst=True)
    return job_id


def _everything_in_redis(url: str) -> str:
    """Every key and value in the test's Redis database, as text (RQ's jobs, results, logs)."""
    r = Redis.from_url(url)
    out = []
    for key in r.scan_iter():
        kind = r.type(key).decode()
        if kind == "string":
            value = r.get(key)
        elif kind == "hash":
            value = r.hgetall(key)
        elif kind == "list":
            value = r.lrange(key, 0, -1)
        elif kind == "set":
            value = r.smembers(key)
        elif kind == "zset":
            value = r.zrange(key, 0, -1)
        elif kind == "stream":
            value = r.xrange(key)
        else:
            value = kind
        out.append(f"{key!r} {value!r}")
    return "\n".join(out)


def _leaks(text: str, token: str, words: str) -> list[str]:
    escaped = words.encode("unicode_escape").decode()
    return [s for s in (token, words, escaped, words.encode().hex()) if s in text]


def test_a_refused_ballot_leaves_no_token_or_answer_in_logs_or_the_inbox(
    service, setup: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    token, words = setup
    _run_worker(service.redis_url)
    ((status, attempts, error),) = service.rows("select status, attempts, error from inbox")
    assert (status, attempts) == ("failed", inbox_job.MAX_ATTEMPTS)
    logged = "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records)
    assert _leaks(error, token, words) == []
    assert _leaks(logged, token, words) == []
    assert _leaks(_everything_in_redis(service.redis_url), token, words) == []
    # The error says what staff need: the kind of failure and the constraint that refused it;
    # and the failure was logged.
    assert "IntegrityError" in error and "SQLSTATE 23514" in error
    assert "constraint test_refuses_this_ballot" in error and "table ballots" in error
    assert "test_refuses_this_ballot" in logged


def test_a_database_outage_while_failing_leaves_nothing_in_rqs_failure_record(
    service, setup: tuple[str, str], caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    """The ballot is refused, then the database goes away as the job records the failure: the
    job fails, and RQ logs and keeps its traceback, the refusal chained to it."""
    token, words = setup
    proxy = TcpProxy(address_of(service.db_url))
    proxy.start()
    monkeypatch.setenv("DATABASE_URL", via_proxy(service.db_url, proxy))
    record_failure = inbox_job.record_failure

    def outage_then_record(*args: object, **kw: object) -> bool:
        proxy.stop()  # the database goes away, live connections included
        return record_failure(*args, **kw)

    monkeypatch.setattr(inbox_job, "record_failure", outage_then_record)
    try:
        job_id = _run_worker(service.redis_url, retries=False)
    finally:
        proxy.stop()
    from rq.job import Job

    job = Job.fetch(job_id, connection=Redis.from_url(service.redis_url), serializer=JSONSerializer)
    assert job.is_failed  # it did fail, in RQ
    failure = job.latest_result().exc_string
    logged = "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records)
    assert _leaks(failure, token, words) == []
    assert _leaks(logged, token, words) == []
    assert _leaks(_everything_in_redis(service.redis_url), token, words) == []
    assert "IngestFailed" in failure and "OperationalError" in failure
    assert "IngestFailed" in logged
    assert service.rows("select status, error from inbox") == [("pending", None)]


def test_a_jobs_engine_hides_statement_parameters(service, setup: tuple[str, str]) -> None:
    """The second line of defence: SQLAlchemy's message of a failed statement names no value."""
    assert Context.for_job().engine.hide_parameters
