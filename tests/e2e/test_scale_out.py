"""Workers on several machines against one PostgreSQL and one Redis (issue #13).

Three ``pingyi worker`` processes run on three hosts (network namespaces, tests/harness/hosts.py):
each has its own loopback, hostname, working directory and temporary directory, and reaches
PostgreSQL and Redis only over its link to this machine; nothing is shared but DATABASE_URL,
REDIS_URL and the source's secret. The web process runs here and takes a round's deliveries on
four sources, some sent twice, some ballots re-submitted, some answering a unit the round does
not have. Then:

- every delivery is stored exactly once as a ballot and every inbox row is done;
- the jobs (RQ's record of who ran each) were run by workers on more than one host, and only
  by them;
- the round's latest ranking, made by a worker, equals the ranking computed in this one process
  by the rules on paper (``compute_ranking`` over the ballots in memory), and the ballots'
  stored statuses are the ones that ranking settles.
"""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

from redis import Redis

from jobs.ranking import load_round
from jobs.scoring import compute_ranking
from service.rules import Rules
from service.store.engine import session_scope
from service.store.results import latest_snapshot
from tests.harness.deliveries import ballot
from tests.harness.hosts import hosts, require_hosts
from tests.harness.processes import BIN, wait_for

ROUND = "2026-10"
HOSTS = 3
SOURCES = ("s-a", "s-b", "s-c", "s-d")
SEATS = 48
SYSTEMS = ("法院", "检察院", "公安局", "司法局")
UNITS = [f"U{i:02d}" for i in range(20)]
ANSWERS = ["满意", "满意", "基本满意", "不满意", "不了解", 87.5, 92, 64.5]
OFFICIAL = ("round", "kind", "valid", "participation", "units", "top", "bottom", "vetoed")


def _reference_data(service) -> list[str]:
    """20 units in four systems, a pool of 60 (some recused from a unit), a drawn panel."""
    units, pool = service.tmp / "units.csv", service.tmp / "pool.csv"
    units.write_text(
        "code,name,system\n"
        + "".join(f"{u},单位{u},{SYSTEMS[i % 4]}\n" for i, u in enumerate(UNITS)),
        encoding="utf-8",
    )
    rows = [f"P{i:03d},评委{i},{('人大代表', '政协委员')[i % 2]},{UNITS[i % 20] if i % 7 == 0 else ''}\n"
            for i in range(60)]  # fmt: skip
    pool.write_text("id,name,group,conflicts\n" + "".join(rows), encoding="utf-8")
    service.cli("import", "units", str(units))
    service.cli("import", "pool", str(pool))
    service.cli("round", "create", ROUND, "--opens", "2026-10-01", "--closes", "2026-10-31")
    service.cli("draw", ROUND, "--seats", str(SEATS), "--seed", "1./2./")
    return [s["token"] for s in service.cli.json("panel", "show", ROUND)["seats"]]


def _deliveries(tokens: list[str]) -> list[tuple[str, str, dict]]:
    """(source, message id, ballot): one ballot per seat, a few re-submissions (later, a new
    response id), a few answering a unit the round does not have (kept, rejected)."""
    rng = random.Random(13)
    out = []
    for i, token in enumerate(tokens):
        answers = {u: rng.choice(ANSWERS) for u in UNITS if rng.random() < 0.85}
        if i % 16 == 5:
            answers = {"U99": "满意"}
        out.append((SOURCES[i % 4], f"msg-{i}", ballot(f"r{i}", token, **answers)))
    for i in range(0, len(tokens), 9):
        answers = {u: rng.choice(ANSWERS) for u in UNITS}
        again = ballot(f"r{i}-again", tokens[i], "2026-10-25T10:00:00+08:00", **answers)
        out.append((SOURCES[(i + 1) % 4], f"msg-{i}-again", again))
    return out


def _job_hosts(redis: Redis, worker_hosts: dict[str, str]) -> dict[str, list[str]]:
    """RQ's record of every job: its function, by the hostname of the worker that ran it."""
    ran: dict[str, list[str]] = {}
    for key in redis.scan_iter("rq:job:*"):
        if redis.type(key) != b"hash":
            continue
        name, func = redis.hmget(key, "worker_name", "description")
        if name:
            host = worker_hosts.get(name.decode(), f"unknown worker {name.decode()}")
            ran.setdefault(host, []).append((func or b"?").decode().split("(")[0])
    return ran


def _logs(machines: list) -> str:
    """The tail of each host's worker log, for a failure's message."""
    return "\n".join(
        f"--- {p}\n" + p.read_text(errors="replace")[-1500:]
        for m in machines
        for p in m.directory.glob("*.log")
    )


def test_workers_on_three_hosts_take_one_round(service, tmp_path) -> None:
    require_hosts()
    tokens = _reference_data(service)
    secrets = {source: service.add_source(source) for source in SOURCES}
    deliveries = _deliveries(tokens)
    web = service.start_web(workers=1)
    redis = Redis.from_url(service.redis_url)
    with hosts(HOSTS, tmp_path / "hosts") as machines:
        for machine in machines:
            reach = "import socket; print(socket.socket().connect_ex(('127.0.0.1', 5432)))"
            alone = machine.run(["python3", "-c", reach])
            assert alone.stdout.strip() not in ("", "0"), f"{machine.name} sees 127.0.0.1:5432"
            environ = {
                "PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
                "DATABASE_URL": machine.url(service.db_url),
                "REDIS_URL": machine.url(service.redis_url),
                "PYTHONUNBUFFERED": "1",
                "PYTHONFAULTHANDLER": "1",
                **{k: v for k, v in service.env.items() if k.startswith("PINGYI_TEST_SECRET_")},
            }
            if os.environ.get("PYTHONPYCACHEPREFIX"):  # make test's bytecode cache, for speed
                environ["PYTHONPYCACHEPREFIX"] = os.environ["PYTHONPYCACHEPREFIX"]
            machine.start(
                [str(BIN / "pingyi"), "worker", "--maintenance-interval", "60",
                 "inbox", "ranking", "notify", "poll"],
                environ, "worker",
            )  # fmt: skip
        names = {m.name for m in machines}

        def registered() -> dict[str, str]:
            workers = {}
            for key in redis.smembers("rq:workers"):
                host = redis.hget(key, "hostname")
                workers[key.decode().removeprefix("rq:worker:")] = (host or b"").decode()
            return workers if set(workers.values()) == names else {}

        worker_hosts = wait_for(registered, 40, interval=0.2, what="a worker on each host")

        def send(item: tuple[str, str, dict]) -> None:
            source, msg_id, data = item
            for _ in range(2 if msg_id.endswith("0") else 1):  # some sent twice, as retries are
                assert web.deliver(source, secrets[source], data, msg_id).status_code in (200, 202)

        with ThreadPoolExecutor(4) as senders:  # in waves: each wave wakes each source's job
            for start in range(0, len(deliveries), 20):
                list(senders.map(send, deliveries[start : start + 20]))
                time.sleep(0.7)

        sent = {data["id"] for _, _, data in deliveries}
        wait_for(
            lambda: set(service.ballot_counts()) == sent
            and service.inbox_statuses() == {"done": len(deliveries)},
            60, interval=0.3, what=f"every delivery ingested\n{_logs(machines)}",
        )  # fmt: skip
        counts = service.ballot_counts()
        assert {rid: n for rid, n in counts.items() if n != 1} == {}
        assert service.scalar("select count(*) from ballots where status = 'rejected'") == 3

        with session_scope(service.engine) as session:  # the rules on paper, in this process
            data = load_round(session, ROUND)
        paper = compute_ranking(data.units, data.seats, data.ballots, data.vetoes, Rules(),
                                data.systems)  # fmt: skip
        expected = paper.to_json(ROUND, "monthly")

        def ranked() -> dict | None:
            with session_scope(service.engine) as session:
                snapshot = latest_snapshot(session, ROUND)
                if snapshot is None:
                    return None
                result = {k: snapshot.result[k] for k in OFFICIAL}
            return result if result == expected else None

        wait_for(
            ranked,
            40,
            interval=0.3,
            what=f"a worker's ranking equal to the paper's\n{_logs(machines)}",
        )
        statuses = dict(service.rows("select id, status from ballots where status != 'rejected'"))
        assert statuses == {data.ballot_ids[k]: v for k, v in paper.ballot_status.items()}
        assert paper.ballots == SEATS - 3 and paper.valid_ballots > SEATS // 2

        ran = _job_hosts(redis, worker_hosts)
        assert set(ran) <= names, ran  # every job ran on a host, none here
        assert len(ran) >= 2, f"every job ran on one host: {ran}"
        ingested = {host for host, funcs in ran.items() if "jobs.inbox.ingest_inbox" in funcs}
        ranked_on = {host for host, funcs in ran.items() if "jobs.rounds.rank_round_job" in funcs}
        assert ingested and ranked_on, ran
