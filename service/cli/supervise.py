"""A process that keeps one child running: ``pingyi worker`` runs its RQ worker this way.

honcho (``make serve``) stops every process of the Procfile as soon as one exits, so a worker
killed from outside (the kernel's OOM killer while rendering, an operator's ``kill -9``) used to
take the web process down with it. The supervisor does nothing that can fail: it starts the
child, waits, and when the child dies without being asked to stop it logs one line and starts
it again after a capped backoff. SIGTERM and SIGINT are passed on to the child, and the
supervisor exits 0 once the child has finished its job and stopped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

from service.cli.processes import HEALTHY_AFTER, Backoff

logger = logging.getLogger("pingyi.processes")

# Set in the child's environment: "you are the worker, not its supervisor".
CHILD = "PINGYI_SUPERVISED_CHILD"


def is_child() -> bool:
    return os.environ.get(CHILD) == "1"


def supervise(argv: Sequence[str], name: str, backoff: Backoff | None = None) -> int:
    """Run ``argv`` as a child until SIGTERM/SIGINT, starting it again whenever it dies."""
    backoff = backoff or Backoff()
    stopping = False
    child: subprocess.Popen | None = None

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while not stopping:
        started = time.monotonic()
        # A process group of its own: when the worker dies, what it forked (RQ's scheduler, a work
        # horse) would live on holding its Redis connection, and a blocked BLMOVE on that
        # connection would take the next job into RQ's intermediate list for a dead worker.
        child = subprocess.Popen(list(argv), env={**os.environ, CHILD: "1"}, process_group=0)
        status = child.wait()
        _end_group(child.pid)
        if stopping:
            break
        if time.monotonic() - started > HEALTHY_AFTER:
            backoff.reset()
        delay = backoff.next()
        how = f"signal {-status}" if status < 0 else f"status {status}"
        logger.warning("%s: its process %d ended (%s); starting again in %.1f s",
                       name, child.pid, how, delay)  # fmt: skip
        deadline = time.monotonic() + delay
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, deadline - time.monotonic()))
    if child is not None and child.poll() is None:
        child.wait()
    return 0


def _end_group(pgid: int) -> None:
    """Kill whatever the dead child left behind in its process group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # nothing left
        os.killpg(pgid, signal.SIGKILL)


def own_command() -> list[str]:
    """This process's own command line, to start the child with."""
    return [sys.executable, *sys.orig_argv[1:]]
