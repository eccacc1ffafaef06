"""The layout of docs/layout.md, enforced: one-way imports, platforms as plug-ins, small modules.

The import graph is read from the source (every ``import``, at module level or inside a
function), so a lazy import cannot hide a cycle or an upward arrow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("connectors", "jobs", "service")
MAX_LINES = 400

# Layers from the bottom up; a module may import its own layer and the ones below, never above.
LAYERS = [
    ("connectors",),
    ("service.config", "service.context", "service.rules", "service.models", "service.store", "service.queue",
     "service.metrics", "service.migrations", "service.malloc"),
    ("jobs",),
    ("service.web", "service.cli"),
]  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for top in PRODUCT
        for p in sorted((ROOT / top).rglob("*.py"))
        if "versions" not in p.parts
    }


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project's modules a file imports (a name imported from a package counts as the
    submodule when there is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return {name for name in found if name in known}


def graph() -> dict[str, set[str]]:
    modules = product_modules()
    known = set(modules)
    return {name: imports_of(path, known) - {name} for name, path in modules.items()}


def layer_of(module: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/layout.md")


def cycles(edges: dict[str, set[str]]) -> Iterator[list[str]]:
    """Each strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> Iterator[list[str]]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                yield from visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                yield sorted(component)

    for node in sorted(edges):
        if node not in index:
            yield from visit(node)


def test_there_is_no_import_cycle() -> None:
    assert list(cycles(graph())) == []


def test_imports_only_go_down_the_layers() -> None:
    upward = [
        f"{src} -> {dst}"
        for src, targets in sorted(graph().items())
        for dst in sorted(targets)
        if layer_of(dst) > layer_of(src)
    ]
    assert upward == []


def test_web_and_command_line_do_not_import_each_other() -> None:
    crossing = [
        f"{src} -> {dst}"
        for src, targets in graph().items()
        for dst in targets
        if {src.split(".")[1], dst.split(".")[1]} == {"web", "cli"}
        and src.startswith("service.")
        and dst.startswith("service.")
    ]
    assert crossing == []


def test_platform_modules_are_imported_only_inside_connectors() -> None:
    platforms = {p.parent.name for p in (ROOT / "connectors").glob("*/__init__.py")}
    assert platforms, "no platform packages found"
    leaks = []
    for top in ("jobs", "service", "benchmarks"):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                for name in names:
                    parts = name.split(".")
                    if parts[0] == "connectors" and len(parts) > 1 and parts[1] in platforms:
                        leaks.append(f"{path.relative_to(ROOT)}: {name}")
    assert leaks == []


def test_jobs_never_import_flask() -> None:
    for path in (ROOT / "jobs").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = (
                    [node.module]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                )
                assert not any((n or "").split(".")[0] in ("flask", "werkzeug") for n in names), (
                    path
                )


@pytest.mark.parametrize("top", [*PRODUCT, "tests", "benchmarks"])
def test_no_module_is_over_400_lines(top: str) -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / top).rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The checks above must be able to fail."""
    assert list(cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})) == [["a", "b", "c"]]
    assert layer_of("service.web.api") > layer_of("jobs.scoring") > layer_of("service.store.rounds")
