"""pingyi as it runs in production, started by a test: gunicorn with
``service/web/gunicorn_conf.py`` and ``rq worker --serializer json`` as subprocesses, on a test's
own PostgreSQL database and the run's Redis database. Every process it starts is in a session of
its own and is killed (with its whole process tree) at teardown, whatever happened in the test.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, func, select, text

from service.models.ballots import Ballot
from service.models.inbox import InboxDelivery
from service.store.engine import make_engine, session_scope
from tests.harness.command_line import Cli
from tests.harness.deliveries import UNITS, body_of, new_secret, pool_csv, signed
from tests.harness.processes import BIN, ROOT, free_port, kill_tree, start_logged, wait_for

QUEUES = ("inbox", "ranking", "notify", "poll", "render")


@dataclass
class Web:
    """A running gunicorn: its base URL and process."""

    base: str
    process: subprocess.Popen
    log: Path

    def url(self, path: str) -> str:
        return self.base + path

    def get(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(self.url(path), headers=headers, timeout=kw.pop("timeout", 30), **kw)

    def post(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.post(self.url(path), headers=headers, timeout=kw.pop("timeout", 30), **kw)

    def deliver(
        self, source: str, secret: str, data: object, msg_id: str | None = None
    ) -> requests.Response:
        """POST one signed delivery, as a Standard Webhooks sender would."""
        body = data if isinstance(data, bytes) else body_of(data)
        return self.post(f"/hooks/{source}", data=body, headers=signed(secret, body, msg_id))


@dataclass
class ServiceHarness:
    """pingyi on a test's own PostgreSQL database (at the newest schema) and the run's Redis
    database, processes and all."""

    db_url: str
    redis_url: str
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)
    _engine: Engine | None = None

    def __post_init__(self) -> None:
        self.cli = Cli(self.db_url)
        self.env = {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "REDIS_URL": self.redis_url,
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("PINGYI_CONFIG", None)
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)

    # ---- database
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.db_url)
        return self._engine

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def ballot_counts(self, source: str | None = None) -> dict[str, int]:
        """Stored ballots per response id (all versions)."""
        with session_scope(self.engine) as s:
            query = select(Ballot.response_id, func.count()).group_by(Ballot.response_id)
            if source is not None:
                query = query.where(Ballot.source == source)
            return dict(s.execute(query).all())

    def inbox_statuses(self) -> dict[str, int]:
        with session_scope(self.engine) as s:
            query = select(InboxDelivery.status, func.count()).group_by(InboxDelivery.status)
            return dict(s.execute(query).all())

    # ---- set-up through the CLI
    def setup_round(self, round_id: str = "2026-10", seats: int = 10, pool: int = 20) -> list[str]:
        """Units, pool, a round and a drawn panel; returns the seats' tokens."""
        units, members = self.tmp / "units.csv", self.tmp / "pool.csv"
        if not units.exists():
            units.write_text(UNITS, encoding="utf-8")
            members.write_text(pool_csv(pool), encoding="utf-8")
            self.cli("import", "units", str(units))
            self.cli("import", "pool", str(members))
        year, month = round_id.split("-")
        last = {"02": 28, "04": 30, "06": 30, "09": 30, "11": 30}.get(month, 31)
        self.cli(
            "round", "create", round_id,
            "--opens", f"{year}-{month}-01", "--closes", f"{year}-{month}-{last}",
        )  # fmt: skip
        self.cli("draw", round_id, "--seats", str(seats), "--seed", "1./2./")
        return [s["token"] for s in self.cli.json("panel", "show", round_id)["seats"]]

    def add_source(self, name: str, round_id: str = "2026-10") -> str:
        """A standard-webhooks source; its secret goes into the processes' environment."""
        var = "PINGYI_TEST_SECRET_" + name.upper().replace("-", "_")
        secret = new_secret()
        self.env[var] = secret
        self.cli(
            "source", "add", name, "--kind", "standard-webhooks",
            "--round", round_id, "--secret-env", var,
        )  # fmt: skip
        return secret

    def token(self, role: str) -> str:
        return self.cli("token", "create", "--role", role).split()[0]

    # ---- processes
    def start_process(self, args: list[str], name: str, env: dict[str, str] | None = None):
        """Start a process in a session of its own (its log in tmp); killed, tree and all, at
        teardown."""
        log = self.tmp / f"{name}-{len(self.processes)}.log"
        process = start_logged(args, log, ROOT, env or self.env)
        self.processes.append(process)
        return process, log

    def start_web(self, workers: int = 2, **extra_env: str) -> Web:
        """gunicorn exactly as the Procfile's ``web`` starts it, on a free port; waits on /healthz."""
        port = free_port()
        env = {**self.env, "PORT": str(port), "HOST": "127.0.0.1", "WEB_WORKERS": str(workers)}
        env.update(extra_env)
        # --no-control-socket: several gunicorns on one machine must not share ~/.gunicorn/.
        args = [
            str(BIN / "gunicorn"),
            "--config",
            "service/web/gunicorn_conf.py",
            "--no-control-socket",
        ]
        process, log = self.start_process([*args, "service.web.app:create_app()"], "gunicorn", env)
        web = Web(f"http://127.0.0.1:{port}", process, log)

        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
            return requests.get(web.url("/healthz"), timeout=1).status_code == 200

        wait_for(up, 20, what="gunicorn /healthz")
        return web

    def worker_args(
        self, burst: bool = True, queues: tuple[str, ...] = QUEUES, forking: bool = True
    ) -> list[str]:
        """``rq worker`` as the Procfile runs it (one process over every queue); ``forking=False``
        runs each job in the worker process itself (RQ's SimpleWorker), see ``burst_worker``."""
        args = [str(BIN / "rq"), "worker", "--serializer", "json", "--url", self.redis_url]
        if not forking:
            args += ["--worker-class", "rq.worker.SimpleWorker"]
        return [*args, *(["--burst"] if burst else []), *queues]

    def start_worker(self, burst: bool = True, **extra_env: str) -> tuple[subprocess.Popen, Path]:
        """The worker production runs: a fresh work horse forked for every job."""
        return self.start_process(self.worker_args(burst), "worker", {**self.env, **extra_env})

    def burst_worker(self, timeout: float = 60, **extra_env: str) -> str:
        """Drain every queue, then stop; returns the worker's log.

        RQ's SimpleWorker, not the forking worker: the same jobs, queues, serializer and Redis,
        run one after another in the worker process. A work horse imports its job's module
        afresh (about a second of pingyi, SQLAlchemy and WeasyPrint imports), so a burst of a
        dozen jobs spent most of its time importing; here each module is imported once per burst,
        which takes about a third off the RQ CPU time of the service tests. ``start_worker``, the
        reliability tests that kill a worker, and the Procfile test run the forking worker.
        """
        args = self.worker_args(burst=True, forking=False)
        process, log = self.start_process(args, "worker", {**self.env, **extra_env})
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(process.pid)
            raise AssertionError(f"burst worker still busy after {timeout} s") from None
        output = log.read_text(errors="replace")
        assert process.returncode == 0, f"rq worker failed:\n{output[-3000:]}"
        return output

    def pingyi(self, *args: str, timeout: float = 60, ok: bool = True, **extra_env: str):
        """The real ``pingyi`` command in a subprocess (sees REDIS_URL, unlike the in-process CLI)."""
        result = subprocess.run(
            [str(BIN / "pingyi"), *args, "--db", self.db_url],
            cwd=ROOT,
            env={**self.env, **extra_env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if ok:
            assert result.returncode == 0, f"pingyi {args} failed:\n{result.stderr}"
        return result

    def sweep(self) -> str:
        """``pingyi sweep`` with the processes' environment (REDIS_URL is what it needs), run
        in this process: a subprocess would spend 2–3 s starting Python and importing the CLI."""
        env: dict[str, str | None] = {k: v for k, v in self.env.items() if os.environ.get(k) != v}
        env.update(PINGYI_CONFIG=None, PROMETHEUS_MULTIPROC_DIR=None)
        return self.cli("sweep", env=env)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                kill_tree(process.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        if self._engine is not None:
            self._engine.dispose()
