"""Fixtures of the 腾讯问卷 tests: the platform (a built-in), its secret set, the stand-in running,
no access token left in the process cache from another test (each stand-in issues its own), and
an inline inbox job that does not linger after its delivery."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.registry import platform
from connectors.tencent_wj.api import TOKENS
from connectors.tencent_wj.platform import PLATFORM
from tests.conftest import Cli
from tests.connectors.tencent_wj.stand_in import APPID, SECRET, SURVEY, StandIn
from tests.fake_limesurvey import ROUND, setup_round

VAR = "TWJ_SECRET"


@pytest.fixture(autouse=True)
def tencent(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    assert platform(PLATFORM.kind) is PLATFORM  # registered by connectors/registry.py
    monkeypatch.setenv(VAR, SECRET)
    # The inline inbox job does not linger for more deliveries, and so (WAKE_WINDOW must stay
    # below INGEST_LINGER) every delivery wakes a job of its own.
    monkeypatch.setattr("jobs.inbox.INGEST_LINGER", 0.0)
    monkeypatch.setattr("service.web.receiver.WAKE_WINDOW", 0.0)
    TOKENS.clear()
    yield
    TOKENS.clear()


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


def add_source(cli: Cli, server: StandIn, *extra: str, name: str = "twj", ok: bool = True) -> str:
    return cli(
        "source", "add", name, "--kind", "tencent-wj", "--round", ROUND, "--survey", str(SURVEY),
        "--appid", APPID, "--secret-env", VAR, "--url", server.url, *extra, ok=ok,
    )  # fmt: skip


@pytest.fixture
def seats(cli: Cli, tmp_path: Path) -> list[str]:
    """Round 2026-11: units U01..U05 (财政局, 卫健局, 税务局, 统计局, 城管局), five seats."""
    return setup_round(cli, tmp_path)
