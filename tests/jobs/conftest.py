"""The sample circular, rendered once per test session: WeasyPrint takes seconds per PDF, and a
dozen tests read the same one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
) -> Iterator[tuple[Path, list[str]]]:
    """The rendered PDF and the message of every warning logged while it was rendered."""
    # Imported here: WeasyPrint takes two seconds to import, and most test processes of a
    # parallel run never render.
    from jobs.circulars.render import render_pdf

    recorder = _Recorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    try:
        pdf = render_pdf(circular_doc)
    finally:
        root.removeHandler(recorder)
    path = tmp_path_factory.mktemp("circular") / "2026-10.pdf"
    path.write_bytes(pdf)
    yield path, recorder.messages


@pytest.fixture(scope="session")
def circular_pdf(circular_render: tuple[Path, list[str]]) -> Path:
    return circular_render[0]


@pytest.fixture(scope="session")
def circular_text(circular_pdf: Path) -> str:
    return pdftotext(circular_pdf)
