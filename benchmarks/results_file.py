"""benchmarks/RESULTS.md, written a section at a time: each benchmark script owns the section
under its own heading and replaces it whole, leaving every other section as it was."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def replace_section(heading: str, section: str, path: Path = RESULTS) -> None:
    """Put ``section`` (which starts with ``heading``) in place of the section under ``heading``,
    or at the end when there is none yet. A section runs to the next ``## `` heading."""
    old = path.read_text(encoding="utf-8")
    if heading in old:
        start = old.index(heading)
        end = old.find("\n## ", start + len(heading))
        old = old[:start].rstrip() + "\n" + (old[end:] if end != -1 else "")
    path.write_text(old.rstrip() + "\n" + section, encoding="utf-8")
