"""Headless Debian Chromium driven over the Chrome DevTools Protocol, by a stdlib-only client."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import socket
import struct
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from tests.harness.needed import missing
from tests.harness.processes import wait_for

if TYPE_CHECKING:
    from tests.harness.service import ServiceHarness


CHROMIUM = "/usr/bin/chromium"


def require_chromium(executable: str = CHROMIUM) -> str:
    """Debian's Chromium, or the test fails saying it is missing (tests/harness/needed.py)."""
    if not (shutil.which(executable) and os.access(executable, os.X_OK)):
        missing("Chromium", f"{executable} is not installed (make system-deps installs it)")
    return executable


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

    def __init__(self, harness: ServiceHarness, executable: str = CHROMIUM) -> None:
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
