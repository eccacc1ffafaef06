"""Rows written in bulk: COPY on PostgreSQL, executemany elsewhere (``service.store.ballots``).

A province ingest writes 2.25 million vote rows: how they are written decides its time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain, repeat

from psycopg import Copy
from sqlalchemy import Integer, String, Table, Text, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from connectors.canonical import RawRecord
from service.models.ballots import Ballot, Comment, Vote
from service.models.base import UTCDateTime
from service.store.vote_rows import PlainVotes

# COPY's text format: backslash, tab, newline and carriage return escaped, NULL as \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def vote_lines(ballots: Iterable[tuple[int, Sequence]]) -> Iterable[str]:
    """COPY text of each ballot's votes (rows of unit, criterion, label, points), one string per
    ballot.

    A province round is 2.25 million votes but only some thousands of different ones (units ×
    the few labels): each different vote is written out once, and a ballot's lines are then
    joined in C, each led by the ballot's id. A plain ballot's votes (``PlainVotes``) are
    columns: its units' text and its (label, points) pairs' text are looked up and joined in C,
    and no row object is made. Row by row through the driver's formatter, the votes cost more
    than judging them."""
    line: dict = {}
    unit_text: dict[str, str] = {}
    tails: dict[str, dict[tuple, str]] = {}  # criterion -> (label, points) -> its columns' text
    for ballot_id, votes in ballots:
        if not votes:
            continue
        if isinstance(votes, PlainVotes):
            yield _plain_text(ballot_id, votes, unit_text, tails.setdefault(votes.criterion, {}))
            continue
        try:  # map in C: a list comprehension here took twice as long
            lines = list(map(line.__getitem__, votes))
        except KeyError:
            for v in votes:
                if v not in line:
                    line[v] = "\t".join(map(_field, v))
            lines = list(map(line.__getitem__, votes))
        lead = f"{ballot_id}\t"
        yield lead + ("\n" + lead).join(lines) + "\n"


def _plain_text(
    ballot_id: int, votes: PlainVotes, unit_text: dict[str, str], tail: dict[tuple, str]
) -> str:
    """A plain ballot's COPY text: per vote the ballot id, the unit, then the criterion, label
    and points (``tail``, ending the line). Joined in one pass in C over the three columns,
    where adding each unit to its tail first made 450 strings per ballot (0.31 s instead of
    0.40 s for a province file's votes). Unit codes with nothing to escape (a search of them
    all at once) go in as they are, without a look-up each (0.26 s)."""
    codes = "".join(votes.units)
    plain = not ("\\" in codes or "\t" in codes or "\n" in codes or "\r" in codes)
    try:
        return _joined(ballot_id, votes, None if plain else unit_text, tail)
    except KeyError:  # a unit or an answer not written yet
        unit_text.update({u: _field(u) for u in votes.units if u not in unit_text})
        for pair in votes.known:
            if pair not in tail:
                tail[pair] = "\t" + "\t".join(map(_field, (votes.criterion, *pair))) + "\n"
    return _joined(ballot_id, votes, None if plain else unit_text, tail)


def _joined(
    ballot_id: int, votes: PlainVotes, unit_text: dict[str, str] | None, tail: dict[tuple, str]
) -> str:
    units = votes.units if unit_text is None else map(unit_text.__getitem__, votes.units)
    tails = map(tail.__getitem__, votes.known)
    # The lead repeats without end; the columns are as long as each other.
    return "".join(chain.from_iterable(zip(repeat(f"{ballot_id}\t"), units, tails, strict=False)))


def _field(value: object) -> str:
    return "\\N" if value is None else str(value).translate(_COPY_ESCAPES)


def copy_text(
    session: Session, table: str, columns: tuple[str, ...], chunks: Iterable[str]
) -> None:
    """COPY rows already written as COPY text into ``table``, in the session's transaction."""
    with _copy(session, f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for chunk in chunks:
            copy.write(chunk)


@contextmanager
def _copy(session: Session, statement: str) -> Iterator[Copy]:
    """A COPY on the session's connection. The driver's own errors are raised as SQLAlchemy
    raises them for any other statement (a CHECK that refuses a ballot is an IntegrityError
    wrapping the driver's CheckViolation), so callers and their error descriptions
    (``jobs.errors.describe_error``) see the same thing whichever way the rows went in."""
    connection = session.connection()
    driver = connection.connection.driver_connection
    dbapi = connection.dialect.loaded_dbapi
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            yield copy
    except dbapi.Error as exc:
        raise DBAPIError.instance(
            statement, None, exc, dbapi.Error, dialect=connection.dialect
        ) from exc


def insert_rows(
    session: Session, table: Table, columns: tuple[str, ...], rows: list[tuple]
) -> None:
    """Bulk insert in the session's transaction: COPY on PostgreSQL (a 98-unit ballot is 98
    vote rows, and COPY moves a million of them in seconds where INSERTs take minutes), plain
    executemany elsewhere (SQLite is in-process, so executemany is already cheap).

    The COPY is binary: text goes as its UTF-8 bytes, where the text format has the driver
    escape every character and the server unescape it. A province file's 5,000 verbatim records
    (52 MB) went in in 0.15 s instead of 0.26 s, with a third of the driver's CPU."""
    if not rows:
        return
    if session.connection().dialect.name == "postgresql":
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with _copy(session, statement) as copy:
            copy.set_types([_binary_type(table.c[name].type) for name in columns])
            for row in rows:
                copy.write_row(row)
        return
    session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _binary_type(column_type: TypeEngine) -> str:
    """The PostgreSQL type a column's values are sent as in a binary COPY (which carries no
    type names: each value must be dumped as its column's type)."""
    if isinstance(column_type, UTCDateTime):  # aware datetimes, stored as they are
        return "timestamptz"
    if isinstance(column_type, Text):  # before String: Text is one
        return "text"
    if isinstance(column_type, String):
        return "varchar"
    if isinstance(column_type, Integer):
        return "int4"
    raise TypeError(f"no binary COPY type for a {column_type!r} column")


def insert_ballots(session: Session, rows: list[dict]) -> list[int]:
    """Insert ballot rows; their new ids, in the order of ``rows``.

    On PostgreSQL the ids are drawn from the table's own sequence first (one query) and the rows
    go in by COPY: a 1,000-ballot batch carries 10 MB of verbatim records, which a multi-row
    INSERT sends as 13,000 bound parameters. Elsewhere one INSERT … RETURNING."""
    if not rows:
        return []
    if session.connection().dialect.name == "postgresql":
        ids = sorted(session.execute(_NEXT_IDS, {"n": len(rows)}).scalars())
        columns = tuple(rows[0])
        rows = [(i, *row.values()) for i, row in zip(ids, rows, strict=True)]
        insert_rows(session, Ballot.__table__, ("id", *columns), rows)
        return ids
    result = session.execute(
        insert(Ballot).returning(Ballot.id, sort_by_parameter_order=True), rows
    )
    return list(result.scalars())


_NEXT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('ballots', 'id')) FROM generate_series(1, :n)"
)
VOTE_COLUMNS = ("ballot_id", "unit_code", "criterion", "label", "points")


def insert_votes(
    session: Session,
    ids: list[int],
    records: list[RawRecord],
    verdicts: Sequence,
) -> None:
    counted = [
        (ballot_id, record, verdict)
        for ballot_id, record, verdict in zip(ids, records, verdicts, strict=True)
        if verdict is not None and verdict.accepted
    ]
    comments = [
        (ballot_id, unit, text)
        for ballot_id, record, _ in counted
        for unit, text in record.ballot.comments.items()
        if text.strip()
    ]
    if session.connection().dialect.name == "postgresql":
        copy_text(session, "votes", VOTE_COLUMNS, vote_lines((b, v.votes) for b, _, v in counted))
    else:
        votes = [
            (b, v.unit, v.criterion, v.label, v.points) for b, _, v in counted for v in v.votes
        ]
        insert_rows(session, Vote.__table__, VOTE_COLUMNS, votes)
    insert_rows(session, Comment.__table__, ("ballot_id", "unit_code", "text"), comments)
