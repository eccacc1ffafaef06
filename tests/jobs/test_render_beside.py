"""The XLSX is rendered in a forked child beside the PDF (jobs/circulars/beside.py): the bytes
come back whole, the child's error is raised in the parent, a child that dies is reported, and
every child is reaped, also when the parent's own rendering fails."""

from __future__ import annotations

import os
import signal

import pytest

from jobs.circulars import beside as beside_module
from jobs.circulars.beside import ChildFailed, beside


def _pid_and_bytes(size: int) -> bytes:
    return f"{os.getpid()}:".encode() + bytes(range(256)) * (size // 256)


def _gone(pid: int) -> bool:
    """The child has been reaped: it is no longer our child (not even a zombie)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def _fail() -> bytes:
    raise ValueError("sheet 法院: no units")


def _die() -> bytes:
    os.kill(os.getpid(), signal.SIGKILL)
    return b""


def test_the_bytes_come_back_whole_from_another_process() -> None:
    collect = beside(_pid_and_bytes, 2_000_000)  # far over a pipe's buffer
    data = collect()
    pid, _, rest = data.partition(b":")
    assert int(pid) != os.getpid() and rest == bytes(range(256)) * (2_000_000 // 256)
    assert _gone(int(pid))


def test_the_childs_error_is_raised_here_with_its_traceback() -> None:
    collect = beside(_fail)
    with pytest.raises(ValueError, match="sheet 法院: no units") as caught:
        collect()
    assert any("raised in the rendering child" in note for note in caught.value.__notes__)
    assert any("_fail" in note for note in caught.value.__notes__)


def test_a_child_that_dies_is_reported_not_waited_for_forever() -> None:
    with pytest.raises(ChildFailed, match="ended without a result"):
        beside(_die)()


def test_without_fork_it_runs_here(monkeypatch) -> None:
    monkeypatch.setenv(beside_module.ENV, "0")
    pid, _, _ = beside(_pid_and_bytes, 256)().partition(b":")
    assert int(pid) == os.getpid()


def test_a_failed_pdf_still_reaps_the_xlsx_child(monkeypatch) -> None:
    """render_snapshot's pattern: the PDF fails while the child renders; the child is reaped
    and the PDF's error is the one raised."""
    from jobs.circulars import publish

    children: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(beside_module.os, "fork", fork)

    def broken_pdf(*args, **kwargs) -> bytes:
        raise RuntimeError("WeasyPrint failed")

    monkeypatch.setattr("jobs.circulars.render.render_pdf", broken_pdf)
    monkeypatch.setattr(publish, "build_circular", lambda *a, **k: {"round": {}})
    monkeypatch.setattr(publish, "check_reissue", lambda *a, **k: None)
    monkeypatch.setattr("jobs.circulars.xlsx.render_xlsx", lambda circular: b"xlsx")

    class Config:
        class circular:  # the attribute of service.config.Config
            min_comments = 3

    with pytest.raises(RuntimeError, match="WeasyPrint failed"):
        publish.render_snapshot(None, "2026-10", None, Config())
    assert len(children) == 1 and _gone(children[0])
