"""A missing service fails the test; it does not skip it (issue #9, item 19).

``tests/test_needed_services.py`` asks for ``pytest.raises(pytest.fail.Exception)``, but
``pytest.skip`` raises ``Skipped``, which that does not catch: if ``missing()`` went back to
skipping, the skip would leave the test and pytest would report those very tests as skipped, and
the run would pass (checked: 4 skipped, exit status 0). Here every outcome is caught, whatever
its class, and it must be a failure.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests import conftest
from tests.harness import redis_claim
from tests.harness.browser import require_chromium

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
