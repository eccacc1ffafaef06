"""The 金数据 tests' shared setup: the platform's secrets in the environment, a stand-in site, and
``source add`` as an office would type it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.registry import source_kinds
from tests.connectors.jinshuju.stand_in import FORM, KEY, SECRET, StandIn
from tests.fake_limesurvey import ROUND

ENV = {"JS_KEY": KEY, "JS_SECRET": SECRET}
MAP = (
    '[units]\n"县城市管理局" = "U05"\n'
    '[answers]\n"一般" = "基本满意"\n'
    '[comments]\n"对城市管理局的意见和建议" = "U05"\n'
)


@pytest.fixture
def jinshuju(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key pair in the environment of the command line and the jobs (the platform itself is
    built in: connectors/registry.py)."""
    assert "jinshuju" in source_kinds()
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def site() -> Iterator[StandIn]:
    with StandIn() as stand_in:
        yield stand_in


def add_source(
    cli: Any,
    tmp_path: Path,
    url: str,
    *extra: str,
    name: str = "js",
    ok: bool = True,
    map_text: str | None = MAP,
) -> str:
    """``pingyi source add NAME --kind jinshuju …`` with the map file, against ``url``."""
    args = ["source", "add", name, "--kind", "jinshuju", "--round", ROUND, "--form", FORM,
            "--key-env", "JS_KEY", "--secret-env", "JS_SECRET", "--url", url]  # fmt: skip
    if map_text is not None:
        (tmp_path / "map.toml").write_text(map_text, encoding="utf-8")
        args += ["--map", str(tmp_path / "map.toml")]
    return cli(*args, *extra, ok=ok)
