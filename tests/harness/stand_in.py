"""A platform's stand-in over real HTTP on 127.0.0.1, the part every stand-in shares.

A subclass answers ``answer(method, path, headers, body)`` with (status, headers, body): a body
that is text is sent as an HTML page (a site that is not the API), anything else as JSON. Use it
as a context manager; ``url`` is where it listens. A client that gives up waiting (a timeout
test) is not an error here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class JsonSite:
    """Serves ``answer`` on a thread until the ``with`` block ends."""

    _server: ThreadingHTTPServer | None = None

    def answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, method: str) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                status, headers, body = site.answer(method, self.path, self.headers, raw)
                if isinstance(body, str):
                    data, kind = body.encode("utf-8"), "text/html; charset=UTF-8"
                else:
                    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                    kind = "application/json; charset=utf-8"
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting (a timeout test)

            def do_GET(self) -> None:
                self._reply("GET")

            def do_POST(self) -> None:
                self._reply("POST")

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"
