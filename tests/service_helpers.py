"""Helpers for the service tests (issue #5): the real processes, and small fakes of the outside.

``ServiceHarness`` runs pingyi as it runs in production — gunicorn with ``service/web/gunicorn_conf.py``
and ``rq worker --serializer json`` as subprocesses — against a fresh PostgreSQL schema and a
spare Redis database. Every process it starts is in its own session and is killed (with its
whole process tree) at teardown, whatever happened in the test. Alongside: a TCP proxy that can
play "the database is down", a webhook receiver for outgoing events, and a tiny Chrome
DevTools Protocol client (stdlib only) for the status page.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import json
import os
import secrets
import signal
import socket
import struct
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import Engine, func, select, text

from connectors.standard_webhooks.connector import sign_headers
from service.models.ballots import Ballot
from service.models.inbox import InboxDelivery
from service.models.sources import Source
from service.store.engine import make_engine, session_scope, utcnow
from tests.conftest import Cli

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
REDIS_TEST_URL = os.environ.get("PINGYI_TEST_REDIS")  # a fixed spare database, if given
REDIS_SERVER = os.environ.get("PINGYI_TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
# Without PINGYI_TEST_REDIS, each test session claims one of these databases, so that two test
# runs on one machine (a developer's and the lead's, say) never flush each other's queues.
# The claims are keys in database 15, which the tests never flush.
REDIS_SPARE_DBS = (14, 12, 11, 10, 9, 8)  # 13 is the benchmarks' (benchmarks/service.py)
REDIS_CLAIMS_DB = 15
REDIS_CLAIM_TTL = 1800  # seconds; refreshed by every test, so only a dead session's claim lapses
QUEUES = ("intake", "ranking", "notify", "poll", "render")
AT = "2026-10-20T10:00:00+08:00"  # inside round 2026-10's window

UNITS = "code,name,system\n" + "".join(
    f"U{i},单位{i},{'法院' if i < 3 else '公安局'}\n" for i in range(1, 5)
)
UNIT_NAMES = [f"单位{i}" for i in range(1, 5)]


def pool_csv(size: int) -> str:
    groups = ("人大代表", "政协委员")
    return "id,name,group\n" + "".join(
        f"P{i:03d},评委{i:03d},{groups[i % 2]}\n" for i in range(1, size + 1)
    )


# --------------------------------------------------------------------------- small functions


class RedisClaim:
    """This session's spare Redis database (see REDIS_SPARE_DBS)."""

    def __init__(self) -> None:
        from redis import Redis

        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.key: str | None = None
        if REDIS_TEST_URL:
            self.url = REDIS_TEST_URL
            return
        self.claims = Redis.from_url(f"{REDIS_SERVER}/{REDIS_CLAIMS_DB}", socket_connect_timeout=2)
        for db in REDIS_SPARE_DBS:
            key = f"pingyi:test-redis-db:{db}"
            if self.claims.set(key, self.owner, nx=True, ex=REDIS_CLAIM_TTL):
                self.key, self.url = key, f"{REDIS_SERVER}/{db}"
                return
        raise RuntimeError(f"every spare Redis database {REDIS_SPARE_DBS} is claimed by a test run")

    def refresh(self) -> None:
        if self.key is not None:
            self.claims.expire(self.key, REDIS_CLAIM_TTL)

    def release(self) -> None:
        if self.key is not None and self.claims.get(self.key) == self.owner.encode():
            self.claims.delete(self.key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signed(
    secret: str, body: bytes, msg_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """Headers a Standard Webhooks sender would send with ``body``."""
    return sign_headers(
        secret,
        msg_id or "msg_" + secrets.token_hex(8),
        int(time.time()) if timestamp is None else timestamp,
        body,
    )


def ballot(rid: str, token: str, at: str = AT, **answers: object) -> dict:
    answers = answers or {"U1": "满意", "U2": "基本满意", "U3": 90, "U4": "不满意"}
    return {"id": rid, "token": token, "submitted_at": at, "answers": answers}


def body_of(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def wait_for(
    check: Callable[[], Any], timeout: float, interval: float = 0.1, what: str = "condition"
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last_exc!r})")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(pid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to ``pid``, its process group, and every descendant (an RQ work horse runs
    in a process group of its own, so killing the worker's group alone would spare it)."""
    victims = [pid, *descendants(pid)]
    for victim in victims:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(victim, sig)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(victim, sig)


# --------------------------------------------------------------------------- the harness


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
    """pingyi on a fresh PostgreSQL schema and a spare Redis database, processes and all."""

    db_url: str
    redis_url: str
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)
    _engine: Engine | None = None

    def __post_init__(self) -> None:
        self.cli = Cli(self.db_url)
        self.cli("init")
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
        if "standard-webhooks" in self.cli("source", "add", "--help"):
            self.cli(
                "source", "add", name, "--kind", "standard-webhooks",
                "--round", round_id, "--secret-env", var,
            )  # fmt: skip
        else:  # the CLI does not know the kind yet: store the source as the CLI would
            with session_scope(self.engine) as s:
                s.add(
                    Source(
                        name=name,
                        kind="standard-webhooks",
                        round_id=round_id,
                        config={"secret_env": var},
                        mapping={},
                        created_at=utcnow(),
                    )
                )
        return secret

    def token(self, role: str) -> str:
        return self.cli("token", "create", "--role", role).split()[0]

    # ---- processes
    def start_process(self, args: list[str], name: str, env: dict[str, str] | None = None):
        """Start a process in a session of its own (its log in tmp); killed, tree and all, at
        teardown."""
        log = self.tmp / f"{name}-{len(self.processes)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env or self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
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

    def worker_args(self, burst: bool = True, queues: tuple[str, ...] = QUEUES) -> list[str]:
        args = [str(BIN / "rq"), "worker", "--serializer", "json", "--url", self.redis_url]
        return [*args, *(["--burst"] if burst else []), *queues]

    def start_worker(self, burst: bool = True, **extra_env: str) -> tuple[subprocess.Popen, Path]:
        return self.start_process(self.worker_args(burst), "worker", {**self.env, **extra_env})

    def burst_worker(self, timeout: float = 60, **extra_env: str) -> str:
        """Run a burst worker over every queue until it has nothing left; returns its log."""
        process, log = self.start_worker(burst=True, **extra_env)
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
        return self.pingyi("sweep").stdout

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                kill_tree(process.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        if self._engine is not None:
            self._engine.dispose()


# --------------------------------------------------------------------------- TCP proxy


def address_of(url: str) -> tuple[str, int]:
    """(host, port) of a database or Redis URL."""
    parts = urlsplit(url)
    default = 6379 if parts.scheme.startswith("redis") else 5432
    return parts.hostname or "127.0.0.1", parts.port or default


def via_proxy(url: str, proxy: TcpProxy) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{proxy.port}" if userinfo else f"127.0.0.1:{proxy.port}"
    return parts._replace(netloc=netloc).geturl()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; ``stop`` closes the listener and every live
    connection (the database "goes away"), ``start`` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener = listener
        self._stopping.clear()
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._conns.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()
            with self._lock:
                self._conns.difference_update((src, dst))

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()


# --------------------------------------------------------------------------- webhook receiver


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


class WebhookReceiver:
    """An automation endpoint on 127.0.0.1: records every request and answers with the next
    status from ``statuses`` (200 once they run out)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: deque[int] = deque()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver.statuses.popleft() if receiver.statuses else 200
                receiver.requests.append(
                    Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body, status
                    )
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------- Chromium over CDP


class WebSocket:
    """Just enough of RFC 6455 (client side) for the Chrome DevTools Protocol."""

    def __init__(self, url: str, timeout: float = 30) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"websocket handshake refused: {head[:200]!r}")
        accept = base64.b64encode(
            hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
        ).decode()
        if f"sec-websocket-accept: {accept}".lower() not in head.decode().lower():
            raise ConnectionError("websocket handshake: wrong Sec-WebSocket-Accept")

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("websocket closed")
            data += chunk
        return data

    def _frame(self, opcode: int, payload: bytes) -> None:
        mask = secrets.token_bytes(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, message: str) -> None:
        self._frame(0x1, message.encode("utf-8"))

    def recv(self) -> str:
        parts: list[bytes] = []
        while True:
            b0, b1 = self._exact(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._exact(8))[0]
            mask = self._exact(4) if b1 & 0x80 else None
            payload = self._exact(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:  # ping
                self._frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("websocket closed by the browser")
            if opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if b0 & 0x80:
                    return b"".join(parts).decode("utf-8")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._frame(0x8, b"")
        self.sock.close()


class Browser:
    """Headless Debian Chromium driven over the DevTools Protocol (one page)."""

    FLAGS = (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
    )

    def __init__(self, harness: ServiceHarness, executable: str = "/usr/bin/chromium") -> None:
        profile = harness.tmp / "chromium-profile"
        profile.mkdir()
        args = [executable, *self.FLAGS, f"--user-data-dir={profile}"]
        process, self.log = harness.start_process(
            [*args, "--remote-debugging-port=0", "about:blank"], "chromium"
        )
        port_file = profile / "DevToolsActivePort"

        def port() -> int | None:
            if process.poll() is not None:
                raise AssertionError(f"chromium exited:\n{self.log.read_text()[-2000:]}")
            lines = port_file.read_text().split() if port_file.exists() else []
            return int(lines[0]) if lines else None

        devtools = f"http://127.0.0.1:{wait_for(port, 30, what='chromium DevTools port')}"

        def page() -> str | None:
            targets = requests.get(devtools + "/json/list", timeout=2).json()
            return next((t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page"), None)

        self.ws = WebSocket(wait_for(page, 15, what="a chromium page target"))
        self._id = 0
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params or {}}))
        self.ws.sock.settimeout(timeout)
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str, timeout: float = 30) -> Any:
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            timeout,
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url: str, timeout: float = 20) -> None:
        self.call("Page.navigate", {"url": url})
        self.wait_loaded(url_prefix=url, timeout=timeout)

    def wait_loaded(self, url_prefix: str = "", timeout: float = 20) -> None:
        def done() -> bool:
            state = self.evaluate("[document.readyState, location.href]")
            return state[0] == "complete" and state[1].startswith(url_prefix)

        wait_for(done, timeout, interval=0.1, what=f"page {url_prefix} loaded")

    def screenshot(self) -> bytes:
        return base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"])

    def close(self) -> None:
        self.ws.close()


@contextlib.contextmanager
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    try:
        yield r
    finally:
        r.stop()
