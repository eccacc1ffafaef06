"""The directory all test processes of one run share, and a lock in it: for what is expensive
to make and the same for every process (the sample circular, the demo month), made once per run
by whichever process needs it first."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def run_directory(factory: pytest.TempPathFactory) -> Path:
    """This run's base temporary directory; under pytest-xdist, the one its workers' own
    directories (popen-gw0, popen-gw1, …) live in."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def locked(directory: Path, name: str) -> Iterator[Path]:
    """Hold ``directory/<name>.lock`` exclusively (other processes wait); yields the directory."""
    with (directory / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield directory
