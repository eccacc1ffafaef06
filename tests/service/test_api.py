"""The HTTP API of the running service (issue #5 items 4 and 5, docs/service.md): closing a round and
downloading its circular, tokens and roles, metrics, and the OpenAPI document."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
from pathlib import Path

from marshmallow import Schema

from service.config import Config
from service.web import schemas
from service.web.app import create_app
from tests.harness.deliveries import UNIT_NAMES, ballot
from tests.harness.processes import wait_for

ROUND = "2026-10"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _ballots_in(service, web, secret: str, tokens: list[str]) -> None:
    for i, token in enumerate(tokens):
        r = web.deliver("formbricks", secret, ballot(f"r{i}", token, U1="满意", U2="不满意"))
        assert r.status_code == 202, r.text
    service.burst_worker()


def _conforms(schema: type[Schema], data: dict) -> None:
    """The body is exactly what the marshmallow schema (and so the OpenAPI document) says."""
    errors = schema().validate(data)
    assert not errors, f"{schema.__name__}: {errors}"


def test_closing_a_round_publishes_its_circular_pdf_and_xlsx(service, tmp_path: Path) -> None:
    tokens = service.setup_round(ROUND, seats=10)
    secret = service.add_source("formbricks")
    web = service.start_web(workers=1)
    _ballots_in(service, web, secret, tokens)
    admin, viewer = service.token("admin"), service.token("viewer")
    close = f"/api/v1/rounds/{ROUND}/close"
    pdf_url = f"/api/v1/rounds/{ROUND}/circular.pdf"

    assert web.post(close).status_code == 401
    assert web.post(close, token=viewer).status_code == 403
    assert web.post("/api/v1/rounds/2099-01/close", token=admin).status_code == 404
    assert web.get(f"/api/v1/rounds/{ROUND}", token=viewer).json()["status"] == "open"
    assert web.get(pdf_url, token=viewer).status_code == 404  # open, never rendered

    accepted = web.post(close, token=admin)
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    _conforms(schemas.AcceptedSchema, body)
    assert body["status"] == "accepted" and body["round"] == ROUND
    assert re.fullmatch(r"/api/v1/jobs/[A-Za-z0-9_-]+", body["job"])
    # Before a worker made it: 202, for both formats.
    for fmt in ("pdf", "xlsx"):
        pending = web.get(f"/api/v1/rounds/{ROUND}/circular.{fmt}", token=viewer)
        assert pending.status_code == 202 and pending.json()["status"] == "rendering"
    queued = web.get(body["job"], token=viewer)
    assert queued.status_code == 200 and queued.json()["status"] == "queued"
    assert web.get(body["job"]).status_code == 401

    worker, log = service.start_worker(burst=True)
    job = wait_for(
        lambda: (
            (j := web.get(body["job"], token=viewer).json())["status"] in ("finished", "failed")
            and j
        ),
        90,
        interval=0.2,
        what="the close job",
    )
    assert job["status"] == "finished", log.read_text()[-3000:]
    assert (job["step"], job["progress"], job["round"]) == ("published", 1.0, ROUND)
    _conforms(schemas.JobSchema, job)
    worker.wait(timeout=60)

    pdf = web.get(pdf_url, token=viewer)
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["X-Pingyi-Sha256"] == hashlib.sha256(pdf.content).hexdigest()
    (tmp_path / "c.pdf").write_bytes(pdf.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "c.pdf"), "-"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert all(name in text for name in UNIT_NAMES), text[:1000]

    xlsx = web.get(f"/api/v1/rounds/{ROUND}/circular.xlsx", token=viewer)
    assert xlsx.status_code == 200 and xlsx.headers["Content-Type"] == XLSX
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    cells = {
        str(c)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for c in row
    }
    assert set(UNIT_NAMES) <= cells

    as_json = web.get(f"/api/v1/rounds/{ROUND}/circular.json", token=viewer)
    assert as_json.status_code == 200 and as_json.headers["Content-Type"] == "application/json"

    detail = web.get(f"/api/v1/rounds/{ROUND}", token=viewer).json()
    _conforms(schemas.RoundSchema, detail)
    assert detail["status"] == "closed" and detail["circular_version"] == 1
    ranking = web.get(f"/api/v1/rounds/{ROUND}/ranking", token=viewer).json()
    _conforms(schemas.RankingSchema, ranking)
    status = web.get("/api/v1/status", token=viewer).json()
    _conforms(schemas.StatusSchema, status)
    (source,) = status["sources"]
    assert source["name"] == "formbricks" and source["last_webhook_at"]
    assert source["pending_deliveries"] == 0 and source["last_error"] is None
    assert status["rounds"] == []  # the only round is closed
    _conforms(schemas.RoundListSchema, web.get("/api/v1/rounds", token=viewer).json())

    # A ballot that arrives after the close is kept, but does not count.
    later = "2026-10-25T10:00:00+08:00"  # would supersede r0's ballot if it counted
    late = web.deliver("formbricks", secret, ballot("late", tokens[0], later, U1="不满意"))
    assert late.status_code == 202
    service.burst_worker()
    status, reason = service.rows("select status, reason from ballots where response_id = 'late'")[
        0
    ]
    assert status == "rejected" and f"round {ROUND} is closed" in reason
    after = web.get(f"/api/v1/rounds/{ROUND}/ranking", token=viewer).json()
    assert after["participation"] == ranking["participation"]
    # The same ranking; the render job has added how sure each rank is (docs/reliability.md).
    assert [{k: v for k, v in u.items() if k != "uncertainty"} for u in after["units"]] == [
        {k: v for k, v in u.items() if k != "uncertainty"} for u in ranking["units"]
    ]
    assert all(u["uncertainty"]["p_bottom"] >= 0 for u in after["units"])
    assert after["bootstrap"]["b"] == 2000 and set(after["bottom_confidence"]) == set(
        after["bottom"]
    )
    # Each ranking of a closed round is published as a new version, with its hash.
    pdf2 = web.get(pdf_url, token=viewer)
    latest = service.rows(
        "select version, sha256 from circulars where format = 'pdf' order by version desc"
    )[0]
    assert pdf2.headers["X-Pingyi-Sha256"] == latest[1] == hashlib.sha256(pdf2.content).hexdigest()
    assert f"-v{latest[0]}.pdf" in pdf2.headers["Content-Disposition"]


def test_token_create_prints_the_token_once_and_stores_only_its_hash(service) -> None:
    result = service.pingyi("token", "create", "--role", "viewer", "--name", "ops")
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pyt_")
    token = lines[0]
    assert token not in result.stderr and "shown once" in result.stderr
    rows = service.rows("select * from api_tokens")
    assert len(rows) == 1
    row = rows[0]._mapping
    assert row["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert row["role"] == "viewer" and row["name"] == "ops"
    assert all(token not in str(value) for value in row.values())
    # Nor does the audit trail keep it.
    assert all(token not in str(r) for r in service.rows("select * from audit_log"))

    web = service.start_web(workers=1)
    assert web.get("/api/v1/rounds", token=token).status_code == 200
    assert web.get("/api/v1/rounds", token=token[:-1] + "x").status_code == 401
    assert (
        web.get("/api/v1/rounds", token=hashlib.sha256(token.encode()).hexdigest()).status_code
        == 401
    )
    assert web.get("/api/v1/rounds").status_code == 401


def test_a_viewer_reads_but_cannot_close_or_veto_and_sees_no_evaluator(service) -> None:
    tokens = service.setup_round(ROUND, seats=10, pool=20)
    secret = service.add_source("formbricks")
    web = service.start_web(workers=1)
    _ballots_in(service, web, secret, tokens)
    admin, viewer = service.token("admin"), service.token("viewer")
    veto = {"unit": "U3", "reason": "发生重大违纪", "by": "纪委"}

    assert web.post(f"/api/v1/rounds/{ROUND}/close", token=viewer).status_code == 403
    denied = web.post(f"/api/v1/rounds/{ROUND}/vetoes", token=viewer, json=veto)
    assert denied.status_code == 403 and denied.json()["message"]
    assert web.post(f"/api/v1/rounds/{ROUND}/vetoes", json=veto).status_code == 401
    assert service.scalar("select count(*) from vetoes") == 0
    assert web.get(f"/api/v1/rounds/{ROUND}", token=viewer).json()["status"] == "open"

    done = web.post(f"/api/v1/rounds/{ROUND}/vetoes", token=admin, json=veto)
    assert done.status_code == 201, done.text
    assert done.json()["unit"] == "U3"
    again = web.post(f"/api/v1/rounds/{ROUND}/vetoes", token=admin, json=veto)
    assert again.status_code == 409
    service.burst_worker()
    ranking = web.get(f"/api/v1/rounds/{ROUND}/ranking", token=viewer)
    assert ranking.status_code == 200
    assert ranking.json()["vetoed"] == ["U3"]

    # Nothing that identifies an evaluator: no seat token, pool member's name or id.
    identifying = set(tokens)
    identifying |= {r[0] for r in service.rows("select name from pool_members")}
    identifying |= {r[0] for r in service.rows("select id from pool_members")}
    assert len(identifying) == 10 + 20 + 20
    for path in (
        f"/api/v1/rounds/{ROUND}/ranking",
        f"/api/v1/rounds/{ROUND}",
        "/api/v1/rounds",
        "/api/v1/status",
        "/",
    ):
        page = web.get(path, token=viewer)
        assert page.status_code == 200, path
        leaked = sorted(word for word in identifying if word in page.text)
        assert not leaked, f"{path} serves {leaked[:5]}"


def test_admins_can_draw_a_panel_over_the_api(service) -> None:
    """POST …/draw runs the draw (inline here: no Redis); the panel, with tokens, is for admins."""
    units, members = service.tmp / "units.csv", service.tmp / "pool.csv"
    units.write_text("code,name,system\nU1,甲,法院\nU2,乙,公安局\n", encoding="utf-8")
    members.write_text(
        "id,name,group\n"
        + "".join(f"P{i:02d},评委{i},{'人大代表' if i % 2 else '政协委员'}\n" for i in range(10)),
        encoding="utf-8",
    )
    service.cli("import", "units", str(units))
    service.cli("import", "pool", str(members))
    service.cli("round", "create", "2026-12", "--opens", "2026-12-01", "--closes", "2026-12-31")
    app = create_app(Config(database_url=service.db_url, redis_url=None))
    client = app.test_client()
    admin = {"Authorization": f"Bearer {service.token('admin')}"}
    viewer = {"Authorization": f"Bearer {service.token('viewer')}"}
    url = "/api/v1/rounds/2026-12/draw"
    assert (
        client.post(url, json={"numbers": "1 2 3", "seats": 4}, headers=viewer).status_code == 403
    )
    assert client.post(url, json={"seats": 4}, headers=admin).status_code == 400
    bad = client.post(url, json={"seed": "3.1./", "seats": 4}, headers=admin)
    assert bad.status_code == 400 and "sorted ascending" in bad.get_json()["message"]
    done = client.post(url, json={"numbers": "9319; 2 5 12 8 10", "seats": 4}, headers=admin)
    assert done.status_code == 200, done.get_json()
    panel = client.get(done.get_json()["panel"], headers=admin).get_json()
    assert panel["seed"] == "9319./2.5.8.10.12./" and len(panel["seats"]) == 4
    assert all(len(seat["token"]) == 32 for seat in panel["seats"])
    assert client.get(done.get_json()["panel"], headers=viewer).status_code == 403
    again = client.post(url, json={"numbers": "1 2 3"}, headers=admin)
    assert again.status_code == 400 and "already drawn" in again.get_json()["message"]
    app.extensions["pingyi"].engine.dispose()
    assert service.cli("draw", "verify", "2026-12").startswith("round 2026-12: match")


def test_the_veto_answer_is_what_the_openapi_document_says(service) -> None:
    service.setup_round(ROUND, seats=2)
    app = create_app(Config(database_url=service.db_url, redis_url=service.redis_url))
    admin = service.token("admin")
    answer = app.test_client().post(
        f"/api/v1/rounds/{ROUND}/vetoes",
        json={"unit": "U3", "reason": "发生重大违纪", "by": "纪委"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    app.extensions["pingyi"].engine.dispose()
    assert answer.status_code == 201
    _conforms(schemas.VetoRecordSchema, answer.get_json())


def _metric(text: str, name: str, **labels: str) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        key, value = line.rsplit(" ", 1)
        metric, _, rest = key.partition("{")
        got = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if metric == name and got == want:
            return float(value)
    return None


def test_metrics_count_deliveries_ballots_queues_and_job_durations(service, tmp_path) -> None:
    tokens = service.setup_round(ROUND, seats=10)
    secret = service.add_source("formbricks")
    # As `make serve` runs it: the Prometheus multiprocess directory shared by every process.
    shared = tmp_path / "metrics"
    shared.mkdir()
    service.env["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
    web = service.start_web(workers=2)
    for i in range(4):
        assert (
            web.deliver("formbricks", secret, ballot(f"r{i}", tokens[i]), f"m{i}").status_code
            == 202
        )
    assert web.deliver("formbricks", secret, ballot("r0", tokens[0]), "m0").status_code == 200
    assert web.post("/hooks/formbricks", data=b"{}", headers={"webhook-id": "x"}).status_code == 401
    assert web.deliver("formbricks", secret, b"{oops").status_code == 400
    queued = web.get("/metrics")
    assert queued.status_code == 200 and queued.headers["Content-Type"].startswith("text/plain")
    assert _metric(queued.text, "pingyi_queue_depth", queue="inbox") == 1

    service.burst_worker()
    text = web.get("/metrics").text
    deliveries = "pingyi_webhook_deliveries_total"
    assert _metric(text, deliveries, outcome="stored") == 4  # summed over both web workers
    assert _metric(text, deliveries, outcome="duplicate") == 1
    assert _metric(text, deliveries, outcome="rejected") == 1
    assert _metric(text, deliveries, outcome="malformed") == 1
    assert _metric(text, "pingyi_ballots", status="accepted") == 4
    for queue in ("inbox", "ranking", "render", "notify", "poll"):
        assert _metric(text, "pingyi_queue_depth", queue=queue) == 0, queue
    assert _metric(text, "pingyi_job_duration_seconds_count", job="ingest") >= 1
    assert _metric(text, "pingyi_job_duration_seconds_count", job="ranking") >= 1
    assert "# TYPE pingyi_job_duration_seconds histogram" in text


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(doc: dict, ref: str) -> object:
    assert ref.startswith("#/"), ref
    node: object = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def _served_paths() -> dict[str, set[str]]:
    """Every (path, method) the app registers under /api/v1 and /hooks, in OpenAPI spelling."""
    app = create_app(Config(database_url="sqlite://", redis_url=None))
    out: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/v1/", "/hooks/")):
            continue
        methods = {m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}}
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        # circular.<fmt>: the view serves pdf, xlsx and json, each a path of its own.
        paths = (
            [path.replace("{fmt}", f) for f in ("pdf", "xlsx", "json")]
            if "{fmt}" in path
            else [path]
        )
        for p in paths:
            out.setdefault(p, set()).update(methods)
    return out


def test_openapi_document_is_3_1_and_every_ref_resolves(service) -> None:
    web = service.start_web(workers=1)
    r = web.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    refs = _refs(doc)
    assert len(refs) > 20
    for ref in refs:
        assert isinstance(_resolve(doc, ref), dict)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op["responses"], f"{method} {path}"
            for param in re.findall(r"{([^}]+)}", path):
                names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
                assert param in names, f"{method} {path}: path parameter {param} undeclared"
    # Every documented operation is one the app serves.
    served = _served_paths()
    for path, item in doc["paths"].items():
        if path.startswith(("/api/v1/", "/hooks/")):
            assert path in served, path
            assert set(item) <= served[path], path


def test_openapi_document_lists_every_route_under_api_and_hooks() -> None:
    from service.web.openapi import document

    doc = document()
    missing = sorted(
        f"{m.upper()} {p}"
        for p, methods in _served_paths().items()
        for m in methods
        if m not in doc["paths"].get(p, {})
    )
    assert not missing, missing
