"""Run the report's matrix products on one BLAS thread (docs/reliability.md, "At province scale").

numpy's OpenBLAS starts a thread per core and, between calls, keeps them spinning for work. The
report makes hundreds of matrix products of a few hundred million operations each, with numpy's
own element-wise work in between; on the 2-core machines pingyi runs on, the spinning threads
take the core that element-wise work needs, and a product split in two waits for its slower half
whenever anything else runs. Measured on the province round (load 2-9): near-identical pairs
0.8 s on one thread against 4.5 s on two. Every product the report makes is of counts and 0/1
indicators, exact in float32 however the sums are split, so no number changes.

There is no public numpy call for this, and ``threadpoolctl`` is not a dependency: the OpenBLAS
libraries loaded in this process are found in ``/proc/self/maps`` (Linux) and their own
``set_num_threads`` is called through ``ctypes``. Elsewhere, or with another BLAS, nothing is
changed and the report is only slower.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The exported names, by build: numpy's and scipy's wheels (scipy-openblas, 64- and 32-bit
# integers) and a system OpenBLAS.
_NAMES = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)


def _loaded_openblas() -> list[tuple[ctypes._CFuncPtr, ctypes._CFuncPtr]]:
    """(get, set) of each OpenBLAS library this process has loaded; none where unknown."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    paths = sorted({line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower()})
    found = []
    for path in paths:
        try:
            library = ctypes.CDLL(path)  # already loaded: the same handle, nothing runs
        except OSError:
            continue
        for get_name, set_name in _NAMES:
            if hasattr(library, get_name) and hasattr(library, set_name):
                get, put = getattr(library, get_name), getattr(library, set_name)
                get.restype, get.argtypes = ctypes.c_int, []
                put.restype, put.argtypes = None, [ctypes.c_int]
                found.append((get, put))
                break
    return found


def blas_threads() -> list[int]:
    """The thread count of each loaded OpenBLAS (for tests and benchmarks)."""
    return [get() for get, _ in _loaded_openblas()]


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Within the block, every loaded OpenBLAS uses one thread; afterwards what it had."""
    libraries = _loaded_openblas()
    before = [get() for get, _ in libraries]
    for _, put in libraries:
        put(1)
    try:
        yield
    finally:
        for (_, put), n in zip(libraries, before, strict=True):
            put(n)
