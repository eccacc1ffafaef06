"""Python work done in a forked child beside this process's own (docs/scale.md).

Two jobs are pure Python on both sides of a step, so threads cannot overlap them (the GIL lets
one run at a time), and a machine with two cores would run them one after the other:

- a circular's XLSX (openpyxl) while its PDF is laid out (WeasyPrint): ``beside``;
- a ballot file's reading, judging and hashing while the batches before are stored (the
  store's own Python, the COPY text): ``stream`` (``jobs.ingest``).

The child is forked, not spawned: it starts with what the work needs already in memory (the
circular's data; the round's context and the file's reader) and imports nothing. It sends its
results back through a pipe as pickles and leaves with ``os._exit``, touching neither the
database connection nor anything else the parent owns (connections, temporary files and atexit
hooks are neither closed nor flushed twice). An exception in the child is raised in the parent,
with the child's traceback as a note; a child that dies is reported (``ChildFailed``); every
child is reaped, also when the parent stops early. Where there is no ``fork``, or with
``PINGYI_FORK=0``, the work runs in this process instead, when its results are asked for.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

from service.malloc import trim

ENV = "PINGYI_FORK"
T = TypeVar("T")


class ChildFailed(RuntimeError):
    """The child ended without a result (killed, or its error could not be sent back)."""


def forking() -> bool:
    """Whether work may go to a forked child here."""
    return hasattr(os, "fork") and os.environ.get(ENV, "1") != "0"


def _send(out: IO[bytes], message: tuple) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(data).to_bytes(8, "little"))
    out.write(data)
    out.flush()


def _receive(pipe: IO[bytes]) -> tuple | None:
    """The next message, or None when the child closed its end without one."""
    header = pipe.read(8)
    if len(header) < 8:
        return None
    return pickle.loads(pipe.read(int.from_bytes(header, "little")))


def _error(exc: BaseException) -> tuple:
    text = "".join(traceback.format_exception(exc))
    try:
        pickle.dumps(exc)
    except Exception:  # one that cannot be pickled: its text alone
        return ("error", None, text)
    return ("error", exc, text)


def _raise(message: tuple, pid: int) -> None:
    _, exc, text = message
    if exc is None:
        raise ChildFailed(f"child {pid} failed:\n{text}")
    exc.add_note(f"raised in child process {pid}:\n{text}")
    raise exc


def _start(body: Callable[[IO[bytes]], None]) -> tuple[int, IO[bytes]]:
    """Fork a child that runs ``body`` on the write end of a pipe; (its pid, the read end)."""
    trim()  # the child would start with the heap's freed pages resident (service/malloc.py)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 1
        try:
            with os.fdopen(write_end, "wb") as out:
                try:
                    body(out)
                    code = 0
                except BrokenPipeError:
                    pass  # the parent stopped reading: nothing to tell it
                except BaseException as exc:  # all of it goes back to the parent
                    _send(out, _error(exc))
        except BaseException:  # the pipe went away while closing: the parent is gone
            pass
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, os.fdopen(read_end, "rb")


def _reap(pid: int, finished: bool) -> None:
    """Wait for the child; one still working (the parent stopped early) is stopped first."""
    if not finished:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def beside(function: Callable[..., T], *args: Any) -> Callable[[], T]:
    """Start ``function(*args)`` in a forked child; return what waits for its result.

    The caller must call the returned function also when its own work failed, as it reaps the
    child: ``try: mine() except BaseException: collect(); raise``."""
    if not forking():
        return lambda: function(*args)
    pid, pipe = _start(lambda out: _send(out, ("item", function(*args))))

    def collect() -> T:
        try:
            message = _receive(pipe)
        finally:
            pipe.close()
            _reap(pid, finished=True)
        if message is None:
            raise ChildFailed(f"child {pid} ended without a result")
        if message[0] == "error":
            _raise(message, pid)
        return message[1]

    return collect


def stream(items: Callable[[], Iterable[T]]) -> Iterator[T]:
    """The items of ``items()``, made in a forked child and handed over one at a time.

    The child is at most an item ahead of the consumer, plus what the pipe holds: it waits while
    the pipe is full, so memory stays that of an item or two. An error while making an item is
    raised here after the items before it were handed over, as it would be in process."""
    if not forking():
        yield from items()
        return

    def body(out: IO[bytes]) -> None:
        for item in items():
            _send(out, ("item", item))
        _send(out, ("end",))

    pid, pipe = _start(body)
    finished = False
    try:
        while True:
            message = _receive(pipe)
            if message is None:
                finished = True
                raise ChildFailed(f"child {pid} ended without finishing")
            if message[0] != "item":
                finished = True
                if message[0] == "error":
                    _raise(message, pid)
                return
            yield message[1]
    finally:
        pipe.close()
        _reap(pid, finished)
