"""No ballot lost or counted twice (issue #5, docs/service.md), with the real processes.

A worker SIGKILLed in the middle of an ingest job, a flushed Redis with work queued, a database
that goes away (intake answers 503, the platform's retry then succeeds) and a Redis that goes
away (intake still stores and answers 202): each ends, after the sweeper and a burst worker,
with every ballot stored exactly once.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from redis import Redis
from rq.registry import StartedJobRegistry

from tests.harness.deliveries import ballot, body_of, signed
from tests.harness.processes import kill_tree, wait_for
from tests.harness.proxy import TcpProxy, address_of, via_proxy

ROUND = "2026-10"


def _post_batch(web, secret: str, tokens: list[str], deliveries: int, per: int) -> set[str]:
    """``deliveries`` signed deliveries of ``per`` ballots each; returns the response ids."""

    def post(i: int) -> list[str]:
        items = [ballot(f"r{i}-{j}", tokens[(i * per + j) % len(tokens)]) for j in range(per)]
        r = web.deliver("formbricks", secret, items, msg_id=f"msg_{i}")
        assert r.status_code == 202, r.text
        return [item["id"] for item in items]

    with ThreadPoolExecutor(4) as pool:
        return {rid for ids in pool.map(post, range(deliveries)) for rid in ids}


def _assert_each_once(service, expected: set[str]) -> None:
    counts = service.ballot_counts("formbricks")
    twice = {rid: n for rid, n in counts.items() if n != 1}
    assert not twice, f"ballots stored more than once: {list(twice.items())[:5]}"
    assert set(counts) == expected, f"missing: {sorted(expected - set(counts))[:5]}"
    assert service.inbox_statuses() == {"done": service.scalar("select count(*) from inbox")}


def _inbox_locked_by_others(service) -> int:
    """Row locks another backend holds on this database's inbox (a killed worker's transaction
    lasts until PostgreSQL notices its connection is gone). pg_locks spans every database, and
    relation ids repeat across databases, so the database is part of the match."""
    return service.scalar(
        "select count(*) from pg_locks l join pg_class c on c.oid = l.relation "
        "where l.database = (select oid from pg_database where datname = current_database()) "
        "and c.relname = 'inbox' and c.relnamespace = to_regnamespace(current_schema())::oid "
        "and l.pid <> pg_backend_pid()"
    )


def test_a_worker_killed_mid_ingest_loses_and_doubles_nothing(service) -> None:
    tokens = service.setup_round(ROUND, seats=50, pool=60)
    secret = service.add_source("formbricks")
    web = service.start_web()
    # 500 deliveries of 20 ballots: the ingest job commits them 200 deliveries at a time,
    # about a second and a half per batch, so there is time to kill it inside the second one.
    expected = _post_batch(web, secret, tokens, deliveries=500, per=20)
    redis = Redis.from_url(service.redis_url)
    started = StartedJobRegistry("inbox", connection=redis)

    worker, _ = service.start_worker(burst=True, PINGYI_INGEST_BATCH="200")
    wait_for(lambda: started.get_job_ids(), 30, interval=0.02, what="the ingest job to start")
    wait_for(
        lambda: service.inbox_statuses().get("done"),
        60,
        interval=0.02,
        what="the first batch to commit",
    )
    kill_tree(worker.pid)  # SIGKILL the worker and its work horse, as an OOM kill or power cut
    worker.wait(timeout=10)

    statuses = service.inbox_statuses()
    assert statuses.get("pending"), f"the kill came too late to be mid-job: {statuses}"
    assert started.get_job_ids(), "RQ itself should not have noticed the dead job yet"
    wait_for(lambda: _inbox_locked_by_others(service) == 0, 15, what="the dead transaction")
    done_before = statuses["done"]
    assert len(service.ballot_counts()) == done_before * 20  # whole batches only

    assert "sources 1" in service.sweep()
    service.burst_worker(timeout=90)
    _assert_each_once(service, expected)
    assert len(expected) == 10_000
    viewer = service.token("viewer")
    ranking = web.get(f"/api/v1/rounds/{ROUND}/ranking", token=viewer).json()
    assert ranking["participation"]["ballots"] == 50  # the other ballots are superseded


def test_a_flushed_redis_with_work_queued_loses_nothing(service) -> None:
    tokens = service.setup_round(ROUND, seats=10)
    secret = service.add_source("formbricks")
    web = service.start_web(workers=1)
    expected = _post_batch(web, secret, tokens, deliveries=30, per=2)
    redis = Redis.from_url(service.redis_url)
    assert redis.llen("rq:queue:inbox") == 1  # 30 deliveries, one coalesced ingest job
    redis.flushdb()  # FLUSHALL, on the tests' spare database only

    service.burst_worker()
    assert service.ballot_counts() == {}  # the queued work really was gone with Redis
    assert service.inbox_statuses() == {"pending": 30}

    assert "sources 1" in service.sweep()
    assert "sources 1" in service.sweep()  # a second sweep meanwhile is harmless
    service.burst_worker()
    _assert_each_once(service, expected)
    viewer = service.token("viewer")
    ranking = web.get(f"/api/v1/rounds/{ROUND}/ranking", token=viewer).json()
    assert ranking["participation"]["ballots"] == 10


def test_intake_answers_503_while_the_database_is_down_and_the_retry_succeeds(service) -> None:
    tokens = service.setup_round(ROUND, seats=10)
    secret = service.add_source("formbricks")
    proxy = TcpProxy(address_of(service.db_url))
    proxy.start()
    try:
        web = service.start_web(DATABASE_URL=via_proxy(service.db_url, proxy))
        viewer = service.token("viewer")
        assert web.deliver("formbricks", secret, ballot("r1", tokens[0])).status_code == 202
        assert web.get("/readyz").status_code == 200

        proxy.stop()  # the database goes away, live connections included
        ready = web.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": False, "redis": True}
        assert web.get("/healthz").status_code == 200  # liveness does not touch the database
        body = body_of(ballot("r2", tokens[1]))
        down = web.post("/hooks/formbricks", data=body, headers=signed(secret, body, "msg_r2"))
        assert down.status_code == 503, down.text
        assert down.json()["message"] == "the database is unavailable"
        unknown = web.post("/hooks/nobody", data=body, headers=signed(secret, body, "msg_x"))
        assert unknown.status_code == 503  # cannot tell "unknown" without the database
        assert web.get("/api/v1/rounds", token=viewer).status_code == 503

        proxy.start()
        wait_for(lambda: web.get("/readyz").status_code == 200, 15, what="/readyz back")
        # The platform retries the same message (re-signed with a fresh timestamp).
        retry = web.post("/hooks/formbricks", data=body, headers=signed(secret, body, "msg_r2"))
        assert retry.status_code == 202, retry.text
    finally:
        proxy.stop()
    service.burst_worker()
    assert service.ballot_counts() == {"r1": 1, "r2": 1}
    assert service.inbox_statuses() == {"done": 2}


def test_intake_stores_and_answers_202_while_redis_is_down(service) -> None:
    tokens = service.setup_round(ROUND, seats=10)
    secret = service.add_source("formbricks")
    proxy = TcpProxy(address_of(service.redis_url))
    proxy.start()
    try:
        web = service.start_web(workers=1, REDIS_URL=via_proxy(service.redis_url, proxy))
        viewer = service.token("viewer")
        assert web.get("/readyz").status_code == 200
        proxy.stop()
        ready = web.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": True, "redis": False}
        started = time.monotonic()
        r = web.deliver("formbricks", secret, ballot("r1", tokens[0]), msg_id="msg_r1")
        assert r.status_code == 202, r.text  # stored: the sweeper will enqueue it
        assert time.monotonic() - started < 10
        status = web.get("/api/v1/status", token=viewer)
        assert status.status_code == 200
        assert status.json()["redis"] is False
    finally:
        proxy.stop()
    assert service.inbox_statuses() == {"pending": 1}
    service.burst_worker()
    assert service.ballot_counts() == {}  # no job was ever queued
    assert "sources 1" in service.sweep()
    service.burst_worker()
    assert service.ballot_counts() == {"r1": 1}
    assert service.inbox_statuses() == {"done": 1}


def test_admin_actions_while_redis_is_down_do_not_answer_500(service) -> None:
    tokens = service.setup_round(ROUND, seats=4)
    secret = service.add_source("formbricks")
    proxy = TcpProxy(address_of(service.redis_url))
    proxy.start()
    try:
        web = service.start_web(workers=1, REDIS_URL=via_proxy(service.redis_url, proxy))
        admin, viewer = service.token("admin"), service.token("viewer")
        for i, token in enumerate(tokens):
            assert web.deliver("formbricks", secret, ballot(f"r{i}", token)).status_code == 202
        proxy.stop()
        closing = web.post(f"/api/v1/rounds/{ROUND}/close", token=admin)
        veto = web.post(
            f"/api/v1/rounds/{ROUND}/vetoes", token=admin, json={"unit": "U1", "reason": "违纪"}
        )
        job = web.get("/api/v1/jobs/j-unknown", token=viewer)
    finally:
        proxy.stop()
    # Whatever was answered, the database kept the work and the sweeper finishes it.
    assert service.scalar("select status from rounds where id = :r", r=ROUND) == "closed"
    service.sweep()
    service.burst_worker()
    assert web.get(f"/api/v1/rounds/{ROUND}/circular.pdf", token=viewer).status_code == 200
    assert closing.status_code in (202, 503), closing.text
    assert veto.status_code in (201, 503), veto.text
    assert job.status_code in (404, 503), job.text
