"""A bound on how long a request body may take to arrive (issue #9 item 7, docs/service.md).

A client that sends its body a byte at a time holds whatever reads it: a sync worker, or a thread
of a gthread worker, for as long as it likes. A socket timeout does not bound that (every byte
restarts it), so one watchdog thread per web process shuts the reading side of a socket whose
body is not in by its deadline: the blocked read then ends at once (end of file), and the
receiver answers 408 on the still-writable side. Registering a read costs a dictionary entry,
so the intake path stays as fast as before.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Guard:
    """One guarded read: ``expired`` is set when the watchdog cut it short."""

    sock: socket.socket
    deadline: float
    expired: bool = False


class Watchdog:
    """Shuts the reading side of sockets whose guarded read outlives its deadline."""

    def __init__(self, tick: float = 0.25) -> None:
        self.tick = tick
        self._guards: dict[int, Guard] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    @contextlib.contextmanager
    def guard(self, sock: socket.socket | None, seconds: float) -> Iterator[Guard | None]:
        """Bound the reads made inside the block to ``seconds`` (no socket: nothing to bound)."""
        if sock is None or not hasattr(sock, "shutdown"):
            yield None
            return
        self._ensure_thread()
        entry = Guard(sock, time.monotonic() + seconds)
        key = id(entry)
        with self._lock:
            self._guards[key] = entry
        try:
            yield entry
        finally:
            with self._lock:
                self._guards.pop(key, None)

    def __len__(self) -> int:
        return len(self._guards)

    def _ensure_thread(self) -> None:
        # Started on first use in each process: a thread started before gunicorn forks its
        # workers would not exist in them.
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._watch, name="body-deadlines", daemon=True
                )
                self._thread.start()

    def expire_due(self) -> int:
        """Cut every guarded read past its deadline; how many were cut."""
        now = time.monotonic()
        with self._lock:
            due = [g for g in self._guards.values() if g.deadline <= now and not g.expired]
            for entry in due:
                entry.expired = True
        for entry in due:
            with contextlib.suppress(OSError):
                entry.sock.shutdown(socket.SHUT_RD)
        return len(due)

    def _watch(self) -> None:
        while True:
            time.sleep(self.tick)
            self.expire_due()


WATCHDOG = Watchdog()
