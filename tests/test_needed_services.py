"""A test that needs PostgreSQL, Redis or Chromium fails when it is missing, saying why; it
skips only when the developer asks for that with PINGYI_TEST_ALLOW_SKIP=1, and never under CI
(tests/harness/needed.py; issue #9, item 19).

Every outcome is caught whatever its class, and its class is what is checked: with
``pytest.raises(pytest.fail.Exception)`` a skip (``Skipped``) would leave the test uncaught, and
pytest would report these very tests as skipped in a passing run (an earlier version of this
file did that: 4 skipped, exit status 0, with ``missing()`` made to skip).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests import conftest
from tests.harness import redis_claim
from tests.harness.browser import require_chromium
from tests.harness.databases import pg_unavailable

CLOSED = "127.0.0.1:1"  # nothing listens on port 1


def outcome(call: Callable[[], object]) -> BaseException | None:
    """What ``call`` raised, of any class (pytest's skip and fail are BaseExceptions), or None."""
    try:
        call()
    except BaseException as exc:  # any class: the class is what is tested
        return exc
    return None


def claim_closed_redis(monkeypatch: pytest.MonkeyPatch) -> Callable[[], object]:
    monkeypatch.setattr(redis_claim, "FIXED_URLS", [])
    monkeypatch.setattr(redis_claim, "SERVER", f"redis://{CLOSED}")
    return redis_claim.claim_redis


@pytest.mark.parametrize(
    ("allow_skip", "ci"), [(None, None), ("yes", None), ("1", "1")], ids=["plain", "yes", "ci"]
)
def test_a_missing_service_is_a_failure_not_a_skip(
    monkeypatch: pytest.MonkeyPatch, allow_skip: str | None, ci: str | None
) -> None:
    for name, value in (("PINGYI_TEST_ALLOW_SKIP", allow_skip), ("CI", ci)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    calls = {
        "PostgreSQL": lambda: conftest._need_pg(f"{CLOSED}: connection refused"),
        "Redis": claim_closed_redis(monkeypatch),
        "Chromium": lambda: require_chromium("/nowhere/chromium"),
    }
    for what, call in calls.items():
        exc = outcome(call)
        assert isinstance(exc, pytest.fail.Exception), (what, type(exc).__name__, exc)
        assert f"{what} is not usable" in str(exc) or "/nowhere/chromium" in str(exc), str(exc)


def test_a_skip_asked_for_outside_ci_is_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("PINGYI_TEST_ALLOW_SKIP", "1")
    exc = outcome(lambda: conftest._need_pg("down"))
    assert isinstance(exc, pytest.skip.Exception), (type(exc).__name__, exc)


def test_the_failure_says_what_is_missing_and_how_to_skip_on_purpose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PINGYI_TEST_ALLOW_SKIP", raising=False)
    monkeypatch.delenv("CI", raising=False)
    reason = pg_unavailable(f"postgresql+psycopg://postgres@{CLOSED}/test")
    assert reason is not None and CLOSED in reason
    exc = outcome(lambda: conftest._need_pg(reason))
    assert isinstance(exc, pytest.fail.Exception), (type(exc).__name__, exc)
    assert f"PostgreSQL is not usable: {reason}" in str(exc)
    assert "PINGYI_TEST_ALLOW_SKIP=1" in str(exc)
    assert outcome(lambda: conftest._need_pg(None)) is None  # reachable: nothing happens
