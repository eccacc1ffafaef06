"""An automation endpoint on 127.0.0.1 that records the outgoing webhooks it receives."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


class WebhookReceiver:
    """An automation endpoint on 127.0.0.1: records every request and answers with the next
    status from ``statuses`` (200 once they run out), or, for an event type given to
    ``refuse``, with the next status queued for that type first."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: deque[int] = deque()
        self.by_type: dict[str, deque[int]] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver.status_for(body)
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

    def refuse(self, event_type: str, *statuses: int) -> None:
        """Answer the next requests carrying events of ``event_type`` with ``statuses``."""
        self.by_type.setdefault(event_type, deque()).extend(statuses)

    def status_for(self, body: bytes) -> int:
        try:
            queued = self.by_type.get(json.loads(body).get("type"))
        except (ValueError, AttributeError):
            queued = None
        if queued:
            return queued.popleft()
        return self.statuses.popleft() if self.statuses else 200

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    try:
        yield r
    finally:
        r.stop()
