"""The reliability report's matrix products run on one BLAS thread (jobs/reliability/blas.py),
and the thread count is given back afterwards; its independent parts run on Python threads."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import jobs.reliability.analysis as analysis
from jobs.reliability.blas import blas_threads, one_blas_thread, side_by_side
from jobs.reliability.votes import VoteMatrix
from jobs.scoring import UnitInfo
from service.rules import Rules


def test_one_thread_inside_and_the_count_given_back() -> None:
    np.ones((2, 2)) @ np.ones((2, 2))  # numpy's OpenBLAS is loaded
    before = blas_threads()
    if not before:
        pytest.skip("no OpenBLAS found in this process")
    with one_blas_thread():
        assert blas_threads() == [1] * len(before)
    assert blas_threads() == before


def test_given_back_after_an_error() -> None:
    before = blas_threads()
    with pytest.raises(ZeroDivisionError), one_blas_thread():
        1 / 0  # noqa: B018
    assert blas_threads() == before


def test_the_report_is_computed_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    if not blas_threads():
        pytest.skip("no OpenBLAS found in this process")
    seen = []

    class Seen(Exception):
        pass

    def resample_scores(*args):  # the report's largest products are made here
        seen.append(blas_threads())
        raise Seen

    monkeypatch.setattr(analysis, "resample_scores", resample_scores)
    m = VoteMatrix(
        votes=np.array([[100.0, 70.0], [70.0, 100.0], [30.0, 70.0]]),
        labels=np.zeros((3, 2), dtype=np.int8), groups=np.zeros(3, dtype=int),
        group_names=["人大代表"], label_names=["满意"], seats=np.arange(3), units=["U1", "U2"],
    )  # fmt: skip
    units = [UnitInfo("U1", "U1", "甲"), UnitInfo("U2", "U2", "甲")]
    result = {"units": [{"code": "U1", "status": "ranked"}, {"code": "U2", "status": "ranked"}]}
    before = blas_threads()
    with pytest.raises(Seen):
        analysis.analyse_matrix(m, units, result, Rules(), 0, "")
    assert seen == [[1] * len(before)]
    assert blas_threads() == before  # given back, also when the report fails


def test_side_by_side_gives_results_in_order_and_raises_what_a_part_raised() -> None:
    seen: set[str] = set()

    def part(value: int):
        def call() -> int:
            seen.add(threading.current_thread().name)
            return value

        return call

    assert side_by_side(part(1), part(2), part(3)) == [1, 2, 3]
    if len(os.sched_getaffinity(0)) >= 2:
        assert all(name.startswith("report") for name in seen)  # on the report's threads
    with pytest.raises(ZeroDivisionError):
        side_by_side(part(1), lambda: 1 / 0)
