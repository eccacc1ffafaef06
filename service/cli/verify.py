"""``pingyi verify-circular``: recompute a circular from its JSON alone (docs/verify.md).

No database and no network: the file is the only input, and the recomputation
(``jobs.circulars.verify``) shares no code with the scoring that made it. With ``--pdf`` it also
checks that the JSON is the very file the PDF names, by the SHA-256 printed in its footer.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import click

# The colophon prints the JSON's hash under this label (templates/circular/_colophon.html).
PDF_LABEL = "JSON数据文件SHA-256："
_PDF_HASH = re.compile(re.escape(PDF_LABEL) + r"([0-9a-f]{64})")


def pdf_json_hash(pdf: Path) -> str | None:
    """The JSON SHA-256 a circular's PDF prints, read with pdftotext (poppler-utils); None if
    the PDF prints none. Whitespace is dropped first: a long hash may wrap in the footer."""
    try:
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except FileNotFoundError:
        raise click.ClickException("pdftotext not found: install poppler-utils") from None
    except subprocess.CalledProcessError as e:
        raise click.ClickException(
            f"{pdf}: pdftotext could not read it ({e.stderr.strip()})"
        ) from None
    found = _PDF_HASH.search("".join(text.split()))
    return None if found is None else found[1]


@click.command("verify-circular")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--pdf",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The circular's PDF: check that it names this JSON file by its SHA-256.",
)
def verify_circular(file: Path, pdf: Path | None) -> None:
    """Recompute every score, status, rank and list of a circular's JSON from the file alone.

    Prints ``match``, or the first difference with both values and exits 1.
    """
    from jobs.circulars.verify import verify_circular as recompute

    content = file.read_bytes()
    if pdf is not None:
        printed, actual = pdf_json_hash(pdf), hashlib.sha256(content).hexdigest()
        if printed != actual:
            click.echo(f"{file}: SHA-256 {actual}, but {pdf} prints {printed or 'no JSON hash'}")
            raise SystemExit(1)
    try:
        doc = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise click.ClickException(f"{file}: not a circular's JSON ({e})") from None
    try:
        check = recompute(doc)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
        click.echo(f"{file}: malformed evidence, cannot recompute ({type(e).__name__}: {e})")
        raise SystemExit(1) from None
    if not check.ok:
        more = len(check.differences) - 1
        click.echo(check.differences[0] + (f" (and {more} more)" if more else ""))
        raise SystemExit(1)
    click.echo("match")
    for note in check.notes:
        click.echo(f"note: {note}")
