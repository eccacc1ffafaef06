"""A ballot's votes as the store writes them: rows, or a plain ballot's compact columns.

Judging (``jobs.judging``) makes the votes and the store (``service.store.bulk``) writes them, so
the form they travel in lives here, below both. A province file is 5,000 ballots of about 450
answers: made one row object per answer, its 2.25 million votes cost about 0.9 s to build and
0.4 s more to count, before a row was written. A plain ballot (one criterion, every answer a
label or number of the scale) keeps its units and their (label, points) pairs as two lists
instead, and the COPY text and the count are made from those in C.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple, overload


class VoteRow(NamedTuple):
    """One criterion answer ready to store: label (None for numbers) and exact points text.

    A tuple rather than a dataclass: it is made in C."""

    unit: str
    criterion: str
    label: str | None
    points: str | None


_new_row = tuple.__new__
_points_of = itemgetter(1)


class PlainVotes(Sequence[VoteRow]):
    """The votes of a plain ballot: its units in answer order, each one's (label, points) pair,
    and the round's one criterion. Read as a sequence it is the same rows as ``VoteRow``s (made
    when asked, which the ingest never does), and equal to any sequence of those rows."""

    __slots__ = ("criterion", "known", "units")

    def __init__(
        self, units: list[str], known: list[tuple[str | None, str | None]], criterion: str
    ) -> None:
        self.units, self.known, self.criterion = units, known, criterion

    def __len__(self) -> int:
        return len(self.units)

    @overload
    def __getitem__(self, index: int) -> VoteRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[VoteRow]: ...
    def __getitem__(self, index: int | slice) -> VoteRow | list[VoteRow]:
        if isinstance(index, slice):
            return list(self)[index]
        return VoteRow(self.units[index], self.criterion, *self.known[index])

    def __iter__(self) -> Iterator[VoteRow]:
        if not self.known:
            return iter(())
        labels, points = zip(*self.known, strict=True)
        rows = zip(self.units, repeat(self.criterion), labels, points)
        return map(_new_row, repeat(VoteRow), rows)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # compared by value, like a list

    def __repr__(self) -> str:
        return f"PlainVotes({list(self)!r})"


def voted_units(votes: Sequence[VoteRow]) -> int:
    """How many units the votes give points to (a unit with several criteria counts once)."""
    if isinstance(votes, PlainVotes):  # one criterion: each unit once, so count the points
        return len(votes.known) - list(map(_points_of, votes.known)).count(None)
    return len({v.unit for v in votes if v.points is not None})
