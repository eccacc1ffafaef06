"""The ``canonical`` file format: any platform's export, once turned into canonical JSON, is never
stuck (``pingyi ingest ID FILE --format canonical``).

A file is either one JSON array of ballots or JSON lines (one ballot per line). Each record keeps
its verbatim text, so a record that is not a valid ballot is stored as rejected, not dropped.
Registered as a platform that offers only an export reader: it is not a kind of source.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

from connectors.base import Platform, SourceSettings
from connectors.canonical import RawRecord, decode_json, load_ballot

# Exact decimals and an error on NaN/Infinity: a score must be a real number.
_decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=lambda c: _bad_constant(c))


class FileFormatError(ValueError):
    """The file as a whole cannot be read; the message names the file and the line."""


def _bad_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _read_array(text: str, name: str) -> list[RawRecord]:
    """Split a JSON array into its elements, keeping each element's exact text."""
    pos = text.index("[") + 1
    records: list[RawRecord] = []
    index = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            if text[pos] == "," and not records:
                raise FileFormatError(f"{name}, line {_line_of(text, pos)}: unexpected ','")
            pos += 1
        if pos >= len(text):
            raise FileFormatError(f"{name}: the JSON array is not closed with ']'")
        if text[pos] == "]":
            rest = text[pos + 1 :].strip()
            if rest:
                raise FileFormatError(
                    f"{name}, line {_line_of(text, pos + 1)}: unexpected text after the array"
                )
            return records
        index += 1
        try:
            value, end = _decoder.raw_decode(text, pos)
        except RecursionError:
            raise FileFormatError(
                f"{name}, line {_line_of(text, pos)}: invalid JSON (nested too deeply)"
            ) from None
        except ValueError as exc:
            raise FileFormatError(
                f"{name}, line {_line_of(text, pos)}: invalid JSON ({exc})"
            ) from None
        where = f"{name}, item {index} (line {_line_of(text, pos)})"
        records.append(load_ballot(value, where, text[pos:end]))
        pos = end


def _read_lines(text: str, name: str) -> list[RawRecord]:
    """JSON lines: a line that is not JSON is kept as a rejected record, the rest still count."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}, line {number}"
        try:
            value = decode_json(line)
        except ValueError as exc:
            records.append(RawRecord(where, line, error=f"{where}: invalid JSON ({exc})"))
            continue
        records.append(load_ballot(value, where, line))
    return records


def read_canonical(path: Path) -> list[RawRecord]:
    """Read a canonical ballot file (JSON array or JSON lines) into records."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileFormatError(f"{path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    stripped = text.lstrip()
    if not stripped:
        raise FileFormatError(f"{path}: the file is empty")
    if stripped.startswith("["):
        return _read_array(text, path.name)
    return _read_lines(text, path.name)


def _stream_lines(path: Path) -> Iterator[RawRecord]:
    """JSON lines one at a time: a province's file is read in constant memory. The same
    records as ``_read_lines``; a line that is not UTF-8 stops the file, naming the line (the
    ingest transaction then stores nothing of it)."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise FileFormatError(
                    f"{path}: not UTF-8 text (line {number}, byte {exc.start})"
                ) from None
            if not line.strip():
                continue
            where = f"{path.name}, line {number}"
            try:
                value = decode_json(line)
            except ValueError as exc:
                yield RawRecord(where, line, error=f"{where}: invalid JSON ({exc})")
                continue
            yield load_ballot(value, where, line)


def _read(path: Path, _source: SourceSettings | None) -> Iterable[RawRecord]:
    """A JSON array is read whole (it is one value); JSON lines are streamed."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096).decode("utf-8-sig", errors="ignore").lstrip()
    except OSError as exc:
        raise FileFormatError(f"{path}: {exc.strerror or exc}") from None
    if not head or head.startswith("["):
        return read_canonical(path)
    return _stream_lines(path)


PLATFORM = Platform(
    kind="canonical", title="canonical ballots (a JSON array or JSON lines)", export=_read
)
