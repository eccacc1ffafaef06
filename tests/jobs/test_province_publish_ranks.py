"""The report computes in numpy alone what it took from scipy.stats (jobs/reliability/): the
same numbers, without the second of start-up that importing scipy.stats costs every circular."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import median_abs_deviation, rankdata

from jobs.reliability.bootstrap import competition_ranks
from jobs.reliability.quality import robust_sd


@pytest.mark.parametrize("seed", range(6))
def test_ranks_equal_rankdata_with_ties_nan_and_signed_zeros(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(1, 40), rng.integers(1, 60)
    keys = rng.choice([-2.5, -1e9, -0.0, 0.0, 1.0, 3.25, np.inf, np.nan], size=(rows, cols))
    keys[rng.random((rows, cols)) < 0.3] = rng.normal(size=1)[0]  # more ties
    keys[0] = np.nan  # a resample ranking nobody
    expected = rankdata(-keys, method="min", axis=1, nan_policy="omit")
    got = competition_ranks(keys)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.float64


def test_ranks_of_nothing() -> None:
    assert competition_ranks(np.zeros((3, 0))).shape == (3, 0)


@pytest.mark.parametrize("n", [5, 6, 101, 5000])
def test_robust_sd_is_scipys_to_the_bit(n: int) -> None:
    x = np.random.default_rng(n).standard_t(3, size=n) * 0.37 + 0.1
    assert robust_sd(x) == median_abs_deviation(x, scale="normal")


def test_the_report_does_not_import_scipy() -> None:
    code = (
        "import sys, jobs.reliability.report, jobs.circulars.publish\n"
        "assert not [m for m in sys.modules if m.startswith('scipy')], 'scipy imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
