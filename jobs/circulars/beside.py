"""Run one rendering in a forked child while this process does another (docs/scale.md).

The PDF (WeasyPrint) and the XLSX (openpyxl) of a circular are made from the same plain data
and are both pure Python, so threads cannot run them side by side: the GIL lets one run at a
time. A child process can. For a province round the XLSX takes about 2 s beside the PDF's
2.5 s; for a county round both are a fraction of a second and the fork costs a few ms.

The child is forked (not spawned): it starts with the circular's data already in memory and
imports nothing, it only renders and writes the bytes back through a pipe, touching neither
the database connection nor any file, and leaves with ``os._exit`` so that nothing the parent
owns (connections, temporary files, atexit hooks) is closed or flushed twice. An exception in
the child is raised in the parent. Where there is no ``fork`` (or ``PINGYI_RENDER_IN_CHILD=0``),
the function simply runs in this process when its result is asked for.
"""

from __future__ import annotations

import os
import pickle
import traceback
from collections.abc import Callable
from typing import Any

from service.malloc import trim

ENV = "PINGYI_RENDER_IN_CHILD"


class ChildFailed(RuntimeError):
    """The child ended without a result (killed, or its error could not be sent back)."""


def _forking() -> bool:
    return hasattr(os, "fork") and os.environ.get(ENV, "1") != "0"


def beside(function: Callable[..., bytes], *args: Any) -> Callable[[], bytes]:
    """Start ``function(*args)`` in a forked child; return what waits for its bytes.

    The caller must call the returned function (a ``try``/``finally`` around its own work),
    which also reaps the child; if the caller's work fails, calling it still reaps the child
    before the caller's error goes on."""
    if not _forking():
        return lambda: function(*args)
    trim()  # the child would start with the freed pages resident (service/malloc.py)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render, send, leave without running the parent's cleanup
        os.close(read_end)
        code = 0
        try:
            try:
                payload = pickle.dumps((True, function(*args)))
            except BaseException as exc:  # all of it goes back to the parent
                code = 1
                text = "".join(traceback.format_exception(exc))
                try:
                    payload = pickle.dumps((False, (exc, text)))
                except Exception:  # one that cannot be pickled
                    payload = pickle.dumps((False, (None, text)))
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        finally:
            os._exit(code)
    os.close(write_end)

    def collect() -> bytes:
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()  # until the child closes its end
        _, status = os.waitpid(pid, 0)
        if not data:
            raise ChildFailed(f"rendering child {pid} ended without a result ({status=})")
        ok, value = pickle.loads(data)
        if ok:
            return value
        exc, text = value
        if exc is None:
            raise ChildFailed(f"rendering child failed:\n{text}")
        exc.add_note(f"raised in the rendering child:\n{text}")
        raise exc

    return collect
