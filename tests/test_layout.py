"""The import direction of ARCHITECTURE.md, enforced: connectors know nothing of the service,
and the shared core never imports the worker side (so WeasyPrint never loads in the web process).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_packages(path: Path, top_level_only: bool) -> set[str]:
    """Top-level package names imported by a module (optionally only at module level)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_connectors_import_nothing_from_service_or_jobs() -> None:
    for path in (ROOT / "connectors").glob("*.py"):
        assert not imported_packages(path, top_level_only=False) & {"service", "jobs"}, path


def test_the_shared_core_never_imports_jobs() -> None:
    # The CLI (cli.py, cli_*.py) is the in-process job runner: it may import jobs, but only
    # inside its commands, so importing the CLI module never loads the worker side.
    for path in (ROOT / "service").glob("*.py"):
        if path.name == "cli.py" or path.name.startswith("cli_"):
            assert "jobs" not in imported_packages(path, top_level_only=True)
            continue
        assert "jobs" not in imported_packages(path, top_level_only=False), path
