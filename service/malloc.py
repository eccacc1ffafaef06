"""How this process's C heap (glibc malloc) is kept small, for the reliability report's threads.

glibc gives a thread that allocates while another holds the heap's lock an arena of its own (up
to 8 per core), and memory freed in one arena is not reused by the others. The report runs its
numpy work on two threads and the circular imports its renderers on a third
(docs/scale.md); with their own arenas, the county circular's process peaked 40–75 MB higher
(396 MB → 409–484 MB, measured run by run against the commit before each change) for no gain
in speed. With one arena (``M_ARENA_MAX`` = 1, as the ``MALLOC_ARENA_MAX=1`` environment
variable would set) the peak is the single-threaded one again, 396 MB, and the province
circular is as fast (11.1–11.8 s against 11.0–12.6 s, 3 pairs): numpy's large arrays come from
``mmap``, and Python's small objects are allocated under the GIL anyway.

Elsewhere than glibc these calls do nothing.
"""

from __future__ import annotations

import ctypes
import functools

_M_ARENA_MAX = -8  # from glibc's malloc.h


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """glibc by its soname: ``ctypes.util.find_library`` would run ``ldconfig -p`` in a child
    process to find it, at every pingyi command's start."""
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing here applies
        return None


def one_arena() -> bool:
    """Every thread allocates from the main arena from now on (threads already started keep
    theirs); True where the setting was taken."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    return bool(mallopt and mallopt(_M_ARENA_MAX, 1) == 1)


def trim() -> None:
    """Give the heap's freed pages back to the system (``malloc_trim``): a province round's
    reliability report frees a few hundred MB just before the circular is rendered, and glibc
    keeps some of it resident (about 50 MB) unless asked."""
    malloc_trim = getattr(_libc(), "malloc_trim", None)
    if malloc_trim is not None:
        malloc_trim(0)
