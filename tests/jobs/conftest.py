"""The sample circular, rendered once per test run: WeasyPrint takes seconds per PDF, and a dozen
tests read the same one."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.harness.run_directory import locked, run_directory
from tests.jobs.circular_document import make_doc, pdftotext


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="session")
def circular_doc() -> dict[str, Any]:
    """The sample round's circular document (tests/jobs/circular_document.py); do not mutate."""
    return make_doc()


@pytest.fixture(scope="session")
def circular_render(
    circular_doc: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[str]]:
    """The rendered PDF and the message of every warning logged while it was rendered.

    Rendered once per run: in a parallel run the first test process to get here renders into the
    directory the processes share, under a lock, and the others read what it wrote.
    """
    with locked(run_directory(tmp_path_factory), "circular-2026-10") as shared:
        path, warnings = shared / "circular-2026-10.pdf", shared / "circular-2026-10.json"
        if not path.exists():
            messages = _render(circular_doc, path)
            warnings.write_text(json.dumps(messages), encoding="utf-8")
    return path, json.loads(warnings.read_text(encoding="utf-8"))


def _render(doc: dict[str, Any], path: Path) -> list[str]:
    # Imported here: WeasyPrint takes two seconds to import, and most test processes of a
    # parallel run never render.
    from jobs.circulars.render import render_pdf

    recorder = _Recorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    try:
        pdf = render_pdf(doc)
    finally:
        root.removeHandler(recorder)
    path.write_bytes(pdf)
    return recorder.messages


@pytest.fixture(scope="session")
def circular_pdf(circular_render: tuple[Path, list[str]]) -> Path:
    return circular_render[0]


@pytest.fixture(scope="session")
def circular_text(circular_pdf: Path) -> str:
    return pdftotext(circular_pdf)
