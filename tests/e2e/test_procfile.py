"""The whole service as ``make serve`` runs it (issue #5 item 1): the Procfile under honcho —
web, worker, render and scheduler — against PostgreSQL and Redis, with no manual worker runs."""

from __future__ import annotations

import json
import time

from service.models.inbox import InboxDelivery
from service.store.engine import session_scope, utcnow
from tests.harness.deliveries import ballot, body_of
from tests.harness.processes import BIN, ROOT, free_port, wait_for
from tests.harness.receiver import receiver
from tests.harness.service import Web

ROUND = "2026-10"


def test_the_procfile_runs_intake_ranking_sweeps_closing_and_retries(service, tmp_path) -> None:
    tokens = service.setup_round(ROUND, seats=10)
    secret = service.add_source("formbricks")
    service.add_source("lost")  # a source whose deliveries' jobs were lost (say, with Redis)
    with session_scope(service.engine) as session:
        session.add(
            InboxDelivery(
                source="lost",
                delivery_id="msg_lost",
                received_at=utcnow(),
                body=body_of(ballot("lost-1", tokens[9])),
                headers={},
                status="pending",
                attempts=0,
            )
        )
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    service.env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    service.env["PINGYI_TEST_HOOK_SECRET"] = secret
    # The Procfile's web process as it is, but one worker rather than two per core: nothing here
    # sends concurrent requests, and each worker imports the app anew.
    service.env["WEB_WORKERS"] = "1"
    with receiver() as hook:
        hook.statuses.append(500)  # the first event delivery fails; the worker retries it
        service.cli(
            "subscription", "add", hook.url, "--events", "round.closed",
            "--secret-env", "PINGYI_TEST_HOOK_SECRET",
        )  # fmt: skip
        port = free_port()
        honcho, log = service.start_process(
            [str(BIN / "honcho"), "start", "-f", str(ROOT / "Procfile"), "-p", str(port)], "honcho"
        )
        web = Web(f"http://127.0.0.1:{port}", honcho, log)

        def up() -> bool:
            assert honcho.poll() is None, log.read_text()[-3000:]
            return web.get("/healthz", timeout=1).status_code == 200

        wait_for(up, 30, what="the web process")
        for i, token in enumerate(tokens[:9]):
            assert web.deliver("formbricks", secret, ballot(f"r{i}", token)).status_code == 202
        viewer, admin = service.token("viewer"), service.token("admin")

        def ranked() -> bool:
            r = web.get(f"/api/v1/rounds/{ROUND}/ranking", token=viewer)
            return r.status_code == 200 and r.json()["participation"]["ballots"] == 10

        # Nine deliveries by HTTP, one found by the scheduler's sweep: all ten ranked.
        wait_for(ranked, 30, interval=0.3, what=f"a ranking of 10 ballots\n{log}")
        assert service.ballot_counts() == {"lost-1": 1, **{f"r{i}": 1 for i in range(9)}}

        closing = web.post(f"/api/v1/rounds/{ROUND}/close", token=admin)
        assert closing.status_code == 202
        job = wait_for(
            lambda: (
                (j := web.get(closing.json()["job"], token=viewer).json())["status"]
                in ("finished", "failed")
                and j
            ),
            60,
            interval=0.3,
            what="the close job on the render worker",
        )
        assert job["status"] == "finished"
        # A ranking job already queued before the close (from the sweep or the last ingest) may
        # rank once more right after it: the API then answers 202 until the render worker has
        # seen that the numbers are the same, which takes one more job, not a new version.
        pdf = wait_for(
            lambda: (
                (r := web.get(f"/api/v1/rounds/{ROUND}/circular.pdf", token=viewer)).status_code
                == 200
                and r
            ),
            30,
            interval=0.3,
            what="the published circular",
        )
        assert pdf.content.startswith(b"%PDF")
        assert f"circular-{ROUND}-v1.pdf" in pdf.headers["Content-Disposition"]

        # round.closed: refused once (500), then delivered by the retry 10 s later.
        started = time.monotonic()
        wait_for(lambda: any(r.status == 200 for r in hook.requests), 40, what="the retry")
        assert time.monotonic() - started < 40
        assert [r.status for r in hook.requests] == [500, 200]
        assert len({r.headers["webhook-id"] for r in hook.requests}) == 1
        assert json.loads(hook.requests[1].body)["type"] == "round.closed"
    attempts = service.rows("select status_code from outbox_attempts order by id")
    assert [a[0] for a in attempts] == [500, 200]
    assert service.scalar("select status from outbox") == "delivered"
