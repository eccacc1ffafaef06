"""The push key is in the environment of every 问卷星 test, as ``.env`` would put it; the inbox
job, run inline in each request, does not linger for more deliveries: each delivery wakes its own."""

from __future__ import annotations

import pytest

from tests.connectors.wenjuanxing.wjx import KEY, VAR


@pytest.fixture(autouse=True)
def push_key(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(VAR, KEY)
    # Together, as they must be (WAKE_WINDOW < INGEST_LINGER): every delivery wakes its job.
    monkeypatch.setattr("jobs.inbox.INGEST_LINGER", 0.0)
    monkeypatch.setattr("service.web.receiver.WAKE_WINDOW", 0.0)
