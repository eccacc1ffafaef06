"""A service the tests need is missing: the test fails and says why.

A test that skips because PostgreSQL, Redis or Chromium is not there passes the run without
testing anything, and nobody reads the skip count (issue #9, item 19). So a missing service is a
failure everywhere, naming what is missing and the reason, unless the developer asks for skips
on purpose with ``PINGYI_TEST_ALLOW_SKIP=1`` (README, Tests). Under ``CI`` it is always a failure.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

ALLOW_SKIP = "PINGYI_TEST_ALLOW_SKIP"


def skips_allowed() -> bool:
    return os.environ.get(ALLOW_SKIP) == "1" and not os.environ.get("CI")


def missing(what: str, reason: str) -> NoReturn:
    """Fail (or, when asked for, skip) the test that needs ``what``, saying why."""
    message = f"{what} is not usable: {reason}"
    if skips_allowed():
        pytest.skip(message)
    pytest.fail(f"{message} (set {ALLOW_SKIP}=1 to skip the tests that need it)", pytrace=False)
