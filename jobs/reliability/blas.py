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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_info, threadpool_limits


def blas_threads() -> list[int]:
    """The thread count of each loaded BLAS library (for tests and benchmarks)."""
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Within the block, every loaded BLAS uses one thread; afterwards what it had."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield
