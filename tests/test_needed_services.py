"""A test that needs PostgreSQL, Redis or Chromium fails when it is missing, saying why; it skips
only when the developer asks for that with PINGYI_TEST_ALLOW_SKIP=1, and never under CI
(tests/harness/needed.py; issue #9, item 19)."""

from __future__ import annotations

import pytest

from tests import conftest
from tests.harness import redis_claim
from tests.harness.browser import require_chromium
from tests.harness.databases import pg_unavailable

CLOSED = "127.0.0.1:1"  # nothing listens on port 1


@pytest.fixture
def no_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PINGYI_TEST_ALLOW_SKIP", raising=False)
    monkeypatch.delenv("CI", raising=False)


def test_a_missing_postgresql_fails_with_the_reason(no_opt_out: None) -> None:
    reason = pg_unavailable(f"postgresql+psycopg://postgres@{CLOSED}/test")
    assert reason is not None and CLOSED in reason
    with pytest.raises(pytest.fail.Exception) as info:
        conftest._need_pg(reason)
    assert f"PostgreSQL is not usable: {reason}" in str(info.value)
    assert "PINGYI_TEST_ALLOW_SKIP=1" in str(info.value)
    conftest._need_pg(None)  # reachable: nothing happens


def test_a_missing_redis_fails_with_the_reason(
    no_opt_out: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_claim, "FIXED_URLS", [])
    monkeypatch.setattr(redis_claim, "SERVER", f"redis://{CLOSED}")
    with pytest.raises(pytest.fail.Exception) as info:
        redis_claim.claim_redis()
    assert f"Redis is not usable: redis://{CLOSED}" in str(info.value)


def test_a_missing_chromium_fails_naming_the_path(no_opt_out: None) -> None:
    with pytest.raises(pytest.fail.Exception, match="/nowhere/chromium is not installed"):
        require_chromium("/nowhere/chromium")


def test_skipping_is_asked_for_and_never_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("PINGYI_TEST_ALLOW_SKIP", "1")
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL is not usable: down"):
        conftest._need_pg("down")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception):
        conftest._need_pg("down")
    monkeypatch.delenv("CI")
    monkeypatch.setenv("PINGYI_TEST_ALLOW_SKIP", "yes")  # only "1" opts out
    with pytest.raises(pytest.fail.Exception):
        conftest._need_pg("down")
