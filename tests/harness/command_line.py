"""``pingyi`` run in-process, as a test would type it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner


class Cli:
    """Runs ``pingyi`` in-process against one database and config file."""

    def __init__(self, db: str, config: Path | None = None) -> None:
        self.db = db
        self.config = config
        self.runner = CliRunner()

    def __call__(
        self, *args: str, ok: bool | None = True, env: Mapping[str, str | None] | None = None
    ) -> str:
        """Run ``pingyi --db … [--config …] *args``; ``env`` is set (None: unset) meanwhile.
        ``ok``: it must succeed (True), must fail (False), or either (None: see ``exit_code``)."""
        # Imported here, not at the top: a test module that never runs the CLI must still be
        # collected when the CLI is broken.
        from service.cli import main

        argv = ["--db", self.db]
        if self.config is not None:
            argv += ["--config", str(self.config)]
        result = self.runner.invoke(main, [*argv, *args], env=env, catch_exceptions=False)
        self.exit_code = result.exit_code
        if ok is True and result.exit_code != 0:
            raise AssertionError(f"pingyi {' '.join(args)} failed:\n{result.output}")
        if ok is False and result.exit_code == 0:
            raise AssertionError(
                f"pingyi {' '.join(args)} succeeded but should not:\n{result.output}"
            )
        return result.output

    def json(self, *args: str) -> dict:
        return json.loads(self(*args, "--json"))
