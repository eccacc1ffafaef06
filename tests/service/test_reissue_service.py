"""Re-issuing a published circular through the API, as deployed (issue #9 item 1): gunicorn, a
real RQ worker, PostgreSQL and Redis. A late veto leaves version 1 served and the round
reported outdated; an admin's POST …/circular with a reason answers 202 with a job, the worker
ranks again and publishes version 2, which prints the reason and is what readers download."""

from __future__ import annotations

import subprocess

from tests.harness.deliveries import ballot

ROUND = "2026-10"


def test_an_admin_reissues_through_the_api_and_a_worker_publishes_version_2(service) -> None:
    tokens = service.setup_round(ROUND, seats=4)
    secret = service.add_source("formbricks")
    web = service.start_web(workers=1)
    for i, token in enumerate(tokens):
        assert web.deliver("formbricks", secret, ballot(f"r{i}", token)).status_code == 202
    service.burst_worker()
    admin, viewer = service.token("admin"), service.token("viewer")
    assert web.post(f"/api/v1/rounds/{ROUND}/close", token=admin).status_code == 202
    service.burst_worker()
    first = web.get(f"/api/v1/rounds/{ROUND}/circular.pdf", token=viewer)
    assert first.status_code == 200
    veto = {"unit": "U2", "reason": "发生重大违纪", "date": "2026-10-30"}
    assert web.post(f"/api/v1/rounds/{ROUND}/vetoes", token=admin, json=veto).status_code == 201
    service.burst_worker()
    detail = web.get(f"/api/v1/rounds/{ROUND}", token=viewer).json()
    assert detail["circular_outdated"] and detail["circular_version"] == 1

    body = {"reason": "补充一票否决情况"}
    assert web.post(f"/api/v1/rounds/{ROUND}/circular", token=viewer, json=body).status_code == 403
    accepted = web.post(f"/api/v1/rounds/{ROUND}/circular", token=admin, json=body)
    assert accepted.status_code == 202, accepted.text
    job_url = accepted.json()["job"]
    service.burst_worker()
    assert web.get(job_url, token=viewer).json()["status"] == "finished"

    second = web.get(f"/api/v1/rounds/{ROUND}/circular.pdf", token=viewer)
    assert second.status_code == 200
    assert second.headers["X-Pingyi-Sha256"] != first.headers["X-Pingyi-Sha256"]
    assert 'filename="circular-2026-10-v2.pdf"' in second.headers["Content-Disposition"]
    text = subprocess.run(["pdftotext", "-", "-"], input=second.content, capture_output=True,
                          check=True).stdout.decode()  # fmt: skip
    flat = "".join(text.split())
    assert "更正原因：补充一票否决情况" in flat and "发生重大违纪" in flat
    detail = web.get(f"/api/v1/rounds/{ROUND}", token=viewer).json()
    assert not detail["circular_outdated"] and detail["circular_version"] == 2
    actors = service.rows(
        "select action, actor from audit_log where action in ('veto.add', 'circular.publish') "
        "order by id"
    )
    assert [tuple(a) for a in actors][-2:] == [("veto.add", "api"), ("circular.publish", "api")]
