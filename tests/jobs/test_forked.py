"""Work in a forked child (jobs/forked.py): the circular's XLSX beside its PDF (``beside``) and a
ballot file's batches beside their storing (``stream``). Results come back whole and in order,
the child's error is raised in the parent after what came before it, a child that dies is
reported, and every child is reaped, also when the parent stops early or its own work fails."""

from __future__ import annotations

import os
import signal

import pytest

from jobs import forked as forked_module
from jobs.forked import ChildFailed, beside, stream


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
    assert any("raised in child process" in note for note in caught.value.__notes__)
    assert any("_fail" in note for note in caught.value.__notes__)


def test_a_child_that_dies_is_reported_not_waited_for_forever() -> None:
    with pytest.raises(ChildFailed, match="ended without a result"):
        beside(_die)()


def test_without_fork_it_runs_here(monkeypatch) -> None:
    monkeypatch.setenv(forked_module.ENV, "0")
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

    monkeypatch.setattr(forked_module.os, "fork", fork)

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


def _pids_then_fail(n: int):
    for i in range(n):
        yield (os.getpid(), i, "批" * 10_000)
    raise ValueError("line 8: not UTF-8 text")


def test_a_stream_hands_over_every_item_in_order_then_the_error() -> None:
    got = []
    with pytest.raises(ValueError, match="line 8") as caught:
        for item in stream(lambda: _pids_then_fail(20)):
            got.append(item)
    assert [i for _, i, _ in got] == list(range(20))  # every item before the error arrived
    assert {pid for pid, _, _ in got} != {os.getpid()}  # made in another process
    assert any("raised in child process" in note for note in caught.value.__notes__)


def test_a_stream_stopped_early_stops_and_reaps_its_child(monkeypatch) -> None:
    children: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(forked_module.os, "fork", fork)

    def endless():
        i = 0
        while True:
            yield i
            i += 1

    items = stream(endless)
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()  # the consumer stops: the child, still making items, is stopped
    assert len(children) == 1 and _gone(children[0])


def test_a_stream_without_fork_runs_here(monkeypatch) -> None:
    monkeypatch.setenv(forked_module.ENV, "0")
    got = []
    with pytest.raises(ValueError, match="line 8"):
        got.extend(stream(lambda: _pids_then_fail(3)))
    assert [(pid, i) for pid, i, _ in got] == [(os.getpid(), i) for i in range(3)]
