"""Run the report's matrix products on one BLAS thread (docs/reliability.md, "At province scale").

numpy's OpenBLAS starts a thread per core and, between calls, keeps them spinning for work. The
report makes hundreds of matrix products of a few hundred million operations each, with numpy's
own element-wise work in between; on the 2-core machines pingyi runs on, the spinning threads
take the core that element-wise work needs, and a product split in two waits for its slower half
whenever anything else runs. Measured on the province round (load 2-9): near-identical pairs
0.8 s on one thread against 4.5 s on two. Every product the report makes is of counts and 0/1
indicators, exact in float32 however the sums are split, so no number changes.

numpy has no call for this; ``threadpoolctl`` (the library scikit-learn uses for the same thing)
finds the BLAS libraries loaded in the process, sets their thread count and gives it back.

The cores are used instead by running independent parts of the report side by side in Python
threads (``side_by_side``, ``in_parallel``): numpy releases the GIL in its matrix products and
element-wise loops, so two threads keep both cores busy while the machine is quiet, and when it
is not, a thread waiting for a core costs nothing (it sleeps; a BLAS thread spins). Each part
writes its own arrays (disjoint rows of a shared result, at most), so no number depends on how
the threads are scheduled.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from threadpoolctl import threadpool_info, threadpool_limits


def blas_threads() -> list[int]:
    """The thread count of each loaded BLAS library (for tests and benchmarks)."""
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Within the block, every loaded BLAS uses one thread; afterwards what it had."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


T = TypeVar("T")


def workers() -> int:
    """Threads for the report: two where this process may use two cores or more, else one.
    More would not help on the machines pingyi runs on, and each adds its working arrays to
    the report's peak memory."""
    return min(2, len(os.sched_getaffinity(0)))


def in_parallel(function: Callable[[T], Any], items: Iterable[T]) -> None:
    """``function`` on every item, on ``workers()`` threads; an item's exception is raised
    here once all have stopped."""
    items = list(items)
    if workers() < 2 or len(items) < 2:
        for item in items:
            function(item)
        return
    with ThreadPoolExecutor(workers(), thread_name_prefix="report") as pool:
        for future in [pool.submit(function, item) for item in items]:
            future.result()


def side_by_side(*functions: Callable[[], Any]) -> list[Any]:
    """Call each function, concurrently where there are cores for it; their results in order."""
    results: list[Any] = [None] * len(functions)

    def call(i: int) -> None:
        results[i] = functions[i]()

    in_parallel(call, range(len(functions)))
    return results
