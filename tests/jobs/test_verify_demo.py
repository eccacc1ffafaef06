"""The demo's half year, checked as a reader would (issue #15, docs/verify.md): every circular's
JSON recomputes to ``match`` with ``pingyi verify-circular`` and with the plain-Python listing
copied out of docs/verify.md; the PDF names its JSON by SHA-256; tampering is caught."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from service.cli import main
from service.cli.demo import HALF, MONTHS, QUARTERS, ROUND, VETOED_UNIT
from tests.e2e.test_demo import demo_dir  # noqa: F401 (the shared fixture)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "verify.md"
ROUNDS = (*MONTHS, *QUARTERS, HALF)


def listing() -> str:
    """The listing under "## The listing" in docs/verify.md, exactly as a reader copies it."""
    text = DOCS.read_text(encoding="utf-8")
    return re.search(r"^## The listing\n.*?```python\n(.*?)```", text, re.S | re.M)[1]


def run_listing(tmp_path: Path, data: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "check.py"
    script.write_text(listing(), encoding="utf-8")
    # -I: isolated from the environment and the current folder, as on a reader's machine.
    return subprocess.run(
        [sys.executable, "-I", str(script), str(data)], capture_output=True, text=True, cwd=tmp_path
    )


def verify(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify-circular", *args], catch_exceptions=False)
    return result.exit_code, result.output


def load(demo: Path, round_id: str) -> dict[str, Any]:
    return json.loads((demo / f"circular-{round_id}.json").read_text(encoding="utf-8"))


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def test_every_demo_circular_verifies_against_its_pdf(demo_dir: Path) -> None:  # noqa: F811
    for round_id in ROUNDS:
        data, pdf = demo_dir / f"circular-{round_id}.json", demo_dir / f"circular-{round_id}.pdf"
        assert verify(str(data), "--pdf", str(pdf)) == (0, "match\n"), round_id


def test_the_docs_listing_gives_the_same_result(demo_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(listing()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])
    }
    assert imported <= {"json", "sys", "fractions"}  # no pingyi: nobody needs pingyi to check it
    for round_id in ROUNDS:
        done = run_listing(tmp_path, demo_dir / f"circular-{round_id}.json")
        assert (done.returncode, done.stdout, done.stderr) == (0, "match\n", ""), round_id
    doc = load(demo_dir, ROUND)
    doc["ranking"]["units"][3]["score"] = round(doc["ranking"]["units"][3]["score"] - 0.01, 2)
    done = run_listing(tmp_path, write(tmp_path, doc))
    assert done.returncode == 1 and " score: the file says " in done.stderr, done.stderr


def _cent_off(doc: dict[str, Any]) -> str:
    u = doc["ranking"]["units"][7]
    u["score"] = round(u["score"] + 0.01, 2)
    return f"{u['code']} score: the file says {u['score']}"


def _count_changed(doc: dict[str, Any]) -> str:
    code = doc["ranking"]["units"][20]["code"]
    histogram = doc["evidence"]["units"][code]["histogram"]
    value = next(iter(histogram))
    histogram[value] -= 1
    return f"{code} votes: the file says"


def _vetoed_into_top(doc: dict[str, Any]) -> str:
    doc["ranking"]["top"].insert(0, VETOED_UNIT)
    return "top: the file says ['" + VETOED_UNIT


def _constituent_score(doc: dict[str, Any]) -> str:
    code = doc["ranking"]["units"][0]["code"]
    rounds = doc["evidence"]["units"][code]["rounds"]
    first = next(r for r, s in rounds.items() if s is not None)
    rounds[first] = f"{float(rounds[first]) - 1:.2f}"
    return f"{code} constituent scores: the file says"


@pytest.mark.parametrize(
    ("round_id", "change"),
    [
        (ROUND, _cent_off),
        (ROUND, _count_changed),
        (ROUND, _vetoed_into_top),
        ("2026-Q4", _cent_off),
        ("2026-Q4", _vetoed_into_top),
        ("2026-Q4", _constituent_score),
        (HALF, _constituent_score),
    ],
    ids=["month-cent", "month-count", "month-veto-top", "quarter-cent", "quarter-veto-top",
         "quarter-constituent", "half-constituent"],
)  # fmt: skip
def test_a_tampered_demo_circular_is_caught(
    demo_dir: Path,  # noqa: F811
    tmp_path: Path,
    round_id: str,
    change,
) -> None:
    doc = load(demo_dir, round_id)
    expected = change(doc)
    code, out = verify(str(write(tmp_path, doc)))
    assert code == 1 and out.startswith(expected), out


def test_a_json_the_pdf_does_not_name_is_refused(demo_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    """The same content written again with other whitespace is another file: the PDF names the
    published bytes, not their meaning."""
    other = tmp_path / "other.json"
    other.write_text(json.dumps(load(demo_dir, ROUND), ensure_ascii=False), encoding="utf-8")
    code, out = verify(str(other), "--pdf", str(demo_dir / f"circular-{ROUND}.pdf"))
    assert code == 1 and "but" in out and "prints" in out, out
    assert verify(str(other)) == (0, "match\n")  # its numbers still recompute
