"""The ingest's shortcuts give exactly what the full paths give (issue #13).

A province file is judged through three shortcuts: ``load_ballot`` decides a plainly well-formed
record in a few C passes (``connectors.canonical._well_formed``), ``judge`` maps the answers of a
plain ballot with a round-wide table (``jobs.judging._plain_votes``), and the record's hash text
is written by orjson (``service.store.ballots._ballot_bytes``; held to the reference in
``test_record_hash.py``). Each is held here to the path it short-cuts, on random and hostile
records: same ballot or same error, same votes or same reasons.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jobs.judging as judging
from connectors.canonical import (
    RawRecord,
    _well_formed,
    load_ballot,
    validate_fully,
)
from jobs.judging import RoundContext, judge
from service.rules import Criterion, Rules
from service.store.bulk import vote_lines
from service.store.vote_rows import PlainVotes, VoteRow, voted_units

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
UNITS = [f"U{i}" for i in range(6)]
LABELS = ["满意", "基本满意", "不满意", "不了解", " 满意 ", "87.5", "abc", "NaN", "1e99999"]

# Text that tries every escape: quotes, backslashes, controls, NUL, lone surrogates, astral.
tricky_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(['"', "\\", "\n", "\t", "\x00", "\x7f", "\u2028", "\ud800", "😀", "满"]),
        st.characters(),
    ),
    max_size=8,
)
number = st.one_of(
    st.integers(-(10**40), 10**40),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
)
answer = st.one_of(st.sampled_from(LABELS), number, tricky_text)
answers = st.dictionaries(
    st.one_of(st.sampled_from(UNITS), tricky_text, st.just("X" * 65)),
    st.one_of(answer, st.dictionaries(st.sampled_from(["总体", "作风", "效能"]), answer)),
    max_size=6,
)
moment = st.sampled_from(
    ["2026-10-20T10:00:00+08:00", "2026-10-20T10:00:00", "2026-10-20", "yesterday",
     "2026-10-20T02:00:00Z", "2026-10-20T10:00:00.5+08:00"]
)  # fmt: skip
record = st.fixed_dictionaries(
    {
        "id": st.one_of(st.sampled_from(["r1", "r2"]), tricky_text, st.just("x" * 201)),
        "token": st.one_of(st.just("t1"), tricky_text, st.integers()),
        "submitted_at": st.one_of(moment, st.integers()),
        "answers": st.one_of(answers, st.lists(st.integers(), max_size=2), st.none()),
    },
    optional={
        "comments": st.one_of(
            st.dictionaries(st.one_of(st.sampled_from(UNITS), tricky_text), tricky_text),
            st.dictionaries(st.sampled_from(UNITS), st.just("长" * 2001), max_size=1),
            st.none(),
            st.just("text"),
        ),
        "extra": st.just(1),
    },
)


def same(a: RawRecord, b: RawRecord) -> bool:
    """Equal records, down to the submitted time's zone (aware datetimes compare as instants)."""

    def zone(r: RawRecord) -> object:
        return r.ballot and (r.ballot.submitted_at.isoformat(), type(r.ballot.answers))

    return a == b and zone(a) == zone(b)


@given(record)
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
def test_a_record_loads_as_the_full_validation_loads_it(data: dict) -> None:
    assert same(load_ballot(data, "f, line 1", "{}"), validate_fully(data, "f, line 1", "{}"))


def test_a_plain_record_takes_the_shortcut_and_hostile_ones_do_not() -> None:
    plain = {"id": "r1", "token": "t", "submitted_at": "2026-10-20T10:00:00+08:00",
             "answers": {"U1": "满意", "U2": Decimal("87.5"), "U3": 90}, "comments": {"U1": "好"}}  # fmt: skip
    assert _well_formed(plain) is not None
    hostile = [
        {**plain, "comments": {"U1": "回复\x00敷衍"}},
        {**plain, "comments": {"U1": "x\ud800y"}},
        {**plain, "answers": {"U1": True}},
        {**plain, "answers": {"": "满意"}},
        {**plain, "submitted_at": "2026-10-20T10:00:00"},
        {**plain, "id": ""},
        {**plain, "extra": 1},
    ]
    for data in hostile:
        assert _well_formed(data) is None, data
        assert same(load_ballot(data, "w", "{}"), validate_fully(data, "w", "{}"))
        assert load_ballot(data, "w", "{}").error is not None
    criteria = {**plain, "answers": {"U1": {"总体": "满意"}}}  # valid, but the full way
    assert _well_formed(criteria) is None
    assert load_ballot(criteria, "w", "{}").ballot is not None


def _context(rules: Rules) -> RoundContext:
    at = datetime(2026, 10, 1, tzinfo=UTC)
    seats = {"t1": (1, "active"), "t2": (2, "replaced")}
    return RoundContext("2026-10", at, None, seats, frozenset(UNITS), rules)


RULES = [
    Rules(),
    Rules(criteria=(Criterion("作风", Fraction(2)), Criterion("效能", Fraction(1)))),
    Rules(numeric_factor=Fraction(10), numeric_min=Fraction(0), numeric_max=Fraction(10)),
]


@given(answers, st.sampled_from(range(len(RULES))), st.sampled_from(["t1", "t2", "t3"]))
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
def test_a_ballot_is_judged_as_the_full_judging_judges_it(
    given_answers: dict, which: int, token: str
) -> None:
    loaded = load_ballot(
        {"id": "r", "token": token, "submitted_at": "2026-10-20T10:00:00+08:00",
         "answers": given_answers}, "w", "{}",
    )  # fmt: skip
    if loaded.ballot is None:
        return
    shared = _context(RULES[which])  # one round-wide table for every ballot, as in a file
    fast = judge(loaded.ballot, shared)
    again = judge(loaded.ballot, shared)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(judging, "_plain_votes", lambda *_: None)
        full = judge(loaded.ballot, _context(RULES[which]))
    assert fast == full == again
    assert [type(v) for v in fast.votes] == [judging.VoteRow] * len(full.votes)


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=6),  # unit codes with tabs, backslashes, newlines …
            st.sampled_from(
                [("满意", "100"), ("不了解", None), ("a\tb\\c\nd", "87.5"), (None, "1/3")]
            ),
        ),
        max_size=12,
        unique_by=lambda pair: pair[0],
    ),
    st.sampled_from(["总体", "作\t风"]),
)
@settings(max_examples=300)
def test_a_plain_ballots_columns_are_written_and_counted_as_its_rows(
    pairs: list[tuple[str, tuple]], criterion: str
) -> None:
    """``PlainVotes`` (a plain ballot's units and (label, points) pairs, no row objects) gives
    the same COPY text and the same count of voted units as the same votes as ``VoteRow``s,
    whatever needs escaping; two ballots share the text caches as in a file."""
    columns = PlainVotes([u for u, _ in pairs], [k for _, k in pairs], criterion)
    rows = [VoteRow(u, criterion, *known) for u, known in pairs]
    assert columns == rows and list(columns) == rows and len(columns) == len(rows)
    assert [type(v) for v in columns] == [VoteRow] * len(rows)
    assert list(vote_lines([(7, columns), (8, columns)])) == list(
        vote_lines([(7, rows), (8, rows)])
    )
    assert voted_units(columns) == voted_units(rows) == sum(p is not None for _, (_, p) in pairs)


def test_a_plain_ballot_takes_the_shortcut_and_maps_each_label_once() -> None:
    ctx = _context(Rules())
    answers = {"U1": "满意", "U2": " 满意 ", "U3": "不了解", "U4": Decimal("87.5"), "U5": 90}
    votes = judging._plain_votes(answers, ctx)
    assert votes == [
        ("U1", "总体", "满意", "100"),
        ("U2", "总体", "满意", "100"),
        ("U3", "总体", "不了解", None),
        ("U4", "总体", None, "87.5"),
        ("U5", "总体", None, "90"),
    ]
    assert ctx.mapped == {"满意": ("满意", "100"), " 满意 ": ("满意", "100"),
                          "不了解": ("不了解", None)}  # fmt: skip
    for off in ({"U1": "好"}, {"U9": "满意"}, {"U1": Decimal("NaN")}, {"U1": 101}):
        assert judging._plain_votes(off, ctx) is None
    assert "好" not in ctx.mapped


def test_a_file_of_tricky_votes_is_stored_exactly(cli, tmp_path: Path) -> None:
    """Votes go in as COPY text on PostgreSQL: labels that need escaping, numbers, no-votes,
    criteria and a rejected ballot come back exactly as judged, on both databases."""
    from sqlalchemy import select

    from service.models.ballots import Ballot, Vote
    from service.store.engine import make_engine, session_scope
    from tests.jobs.test_ingest import setup_round

    (tmp_path / "pingyi.toml").write_text(
        '[rules]\nscale = { "满意" = 100, "a\\\\b\\tc" = 50, "x\\ny" = 20 }\n', encoding="utf-8"
    )
    t = setup_round(cli, tmp_path)
    lines = [
        {"id": "r1", "token": t[0], "submitted_at": "2026-10-20T10:00:00+08:00",
         "answers": {"U1": "a\\b\tc", "U2": "x\ny", "U3": 87.5, "U4": "不了解"},
         "comments": {"U2": "说\t明\\"}},
        {"id": "r2", "token": t[1], "submitted_at": "2026-10-20T10:00:00+08:00",
         "answers": {"U1": "满意", "U2": "a\\b\tc", "U3": "1/3"}},
        {"id": "r3", "token": t[2], "submitted_at": "2026-10-20T10:00:00+08:00",
         "answers": {"U1": "满意", "U2": "x\ny", "U3": 33.333, "U4": 0}},
    ]  # fmt: skip
    path = tmp_path / "b.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), "utf-8")
    cli.config = tmp_path / "pingyi.toml"
    got = cli.json("ingest", "2026-10", str(path))
    assert (got["accepted"], got["rejected"]) == (2, 1)
    with session_scope(make_engine(cli.db)) as s:
        ids = dict(s.execute(select(Ballot.response_id, Ballot.id)).all())
        rid = {v: k for k, v in ids.items()}
        columns = (Vote.ballot_id, Vote.unit_code, Vote.criterion, Vote.label, Vote.points)
        stored = sorted((rid[b], *rest) for b, *rest in s.execute(select(*columns)))
        voted = dict(s.execute(select(Ballot.response_id, Ballot.voted_units)).all())
    assert stored == [
        ("r1", "U1", "总体", "a\\b\tc", "50"),
        ("r1", "U2", "总体", "x\ny", "20"),
        ("r1", "U3", "总体", None, "87.5"),
        ("r1", "U4", "总体", "不了解", None),
        ("r3", "U1", "总体", "满意", "100"),
        ("r3", "U2", "总体", "x\ny", "20"),
        ("r3", "U3", "总体", None, "33.333"),
        ("r3", "U4", "总体", None, "0"),
    ]
    assert voted == {"r1": 3, "r2": None, "r3": 4}


def test_a_file_in_many_batches_is_stored_whole_or_not_at_all(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches are judged a batch ahead in a thread: every batch still lands, in order, and a
    line of bad bytes in a later batch stops the file with nothing of it stored."""
    from sqlalchemy import func, select

    import jobs.ingest
    from service.models.ballots import Ballot, Vote
    from service.store.engine import make_engine, session_scope
    from tests.jobs.test_ingest import setup_round

    monkeypatch.setattr(jobs.ingest, "FILE_BATCH", 3)
    t = setup_round(cli, tmp_path)
    lines = [
        json.dumps({"id": f"r{n}", "token": t[n % 3], "submitted_at":
                    f"2026-10-20T10:{n:02d}:00+08:00", "answers": {"U1": "满意", "U2": 90}},
                   ensure_ascii=False).encode()
        for n in range(10)
    ]  # fmt: skip
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n".join([*lines[:7], b'{"id": "r\xff"}', *lines[7:]]) + b"\n")
    assert "not UTF-8 text (line 8" in cli("ingest", "2026-10", str(bad), ok=False)
    with session_scope(make_engine(cli.db)) as s:
        assert s.scalar(select(func.count()).select_from(Ballot)) == 0
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"\n".join(lines) + b"\n")
    got = cli.json("ingest", "2026-10", str(good))
    # each seat's latest ballot counts; P1's covers too few of the units it is not recused from
    assert (got["new"], got["accepted"], got["invalid"], got["superseded"]) == (10, 2, 1, 7)
    with session_scope(make_engine(cli.db)) as s:
        ids = [rid for (rid,) in s.execute(select(Ballot.response_id).order_by(Ballot.id))]
        assert ids == [f"r{n}" for n in range(10)]
        assert s.scalar(select(func.count()).select_from(Vote)) == 20
    assert cli.json("ingest", "2026-10", str(good))["unchanged"] == 10


@given(st.lists(st.integers(0, 50), max_size=40), st.integers(1, 6), st.integers(1, 120))
def test_batches_keep_every_record_in_order_within_their_bounds(
    lengths: list[int], size: int, chars: int
) -> None:
    """A file's batches stop at ``size`` records or at the record that brings their texts to
    ``chars`` characters, whichever comes first; nothing is lost, repeated or reordered."""
    from jobs.ingest import batched

    records = [RawRecord(f"line {i}", "x" * n) for i, n in enumerate(lengths)]
    batches = list(batched(records, size, chars))
    assert [r for b in batches for r in b] == records and all(batches)
    for b in batches[:-1]:  # each full batch stopped for a reason, and no later than it had to
        held = sum(len(r.text) for r in b)
        assert len(b) == size or held >= chars
        assert len(b) <= size and held - len(b[-1].text) < chars
    assert list(batched(records, size)) == [
        records[i : i + size] for i in range(0, len(records), size)
    ]
