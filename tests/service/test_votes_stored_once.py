"""Votes are stored once and found by their round's range of ballot ids (migration 0012).

The votes table has no primary key any more: nothing but the way they are written keeps a
vote from being stored twice, and nothing but the join to the round's ballots, narrowed to the
round's range of ballot ids (``service.store.aggregates.round_votes``), finds a round's votes.
Here two rounds are ingested in turns, so their ballot ids interleave and each round's range
holds the other's ballots; a ballot is answered again (a new version) and a file sent twice.
Each round must rank exactly as it does when it is alone in a database, every unit must have
its 12 seats' votes with the share of 满意 counted by hand (a range one ballot short fails
here), and no (ballot, unit, criterion) may appear twice.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
from sqlalchemy import text

from service.store.engine import make_engine, migrate
from tests.harness.databases import fresh_pg_schema
from tests.jobs.evaluation import Evaluation

UNITS = {f"U{i}": ("法院", "公安局")[i % 2] for i in range(1, 7)}
MEMBERS = {f"P{i:02d}": ("人大代表", "政协委员")[i % 2] for i in range(12)}
LABELS = ("满意", "基本满意", "不满意")  # every answer a vote: each unit gets all 12 seats' votes
ROUNDS = (("2026-10", "2026-10-01", "2026-10-31"), ("2026-11", "2026-11-01", "2026-11-30"))


def _files(rng: random.Random) -> dict[str, list[list[tuple[str, dict[str, str]]]]]:
    """Per round, the files in the order they are sent: (member, answers) per ballot. The
    third file answers P00's ballot again with other labels and repeats the first file."""
    files: dict[str, list[list[tuple[str, dict[str, str]]]]] = {}
    for round_id, *_ in ROUNDS:
        members = list(MEMBERS)
        batches = [members[0:4], members[4:8], members[8:12]]
        sent = [[(m, {u: rng.choice(LABELS) for u in UNITS}) for m in batch] for batch in batches]
        sent[2] = [*sent[2], (members[0], {u: rng.choice(LABELS) for u in UNITS}), *sent[0]]
        files[round_id] = sent
    return files


def _ingest(ev: Evaluation, tokens: dict[str, dict[str, str]], round_id: str, batch) -> None:
    ev.round, ev.tokens = round_id, tokens[round_id]
    at = f"{round_id}-20T10:00:00+08:00"
    ev.ingest([ev.ballot(m, answers, at=at) for m, answers in batch])


def _evaluation(db_url: str, tmp: Path, rounds: list[str]) -> tuple[Evaluation, dict]:
    tmp.mkdir()
    ev = Evaluation(db_url, tmp, UNITS, MEMBERS, rules={"min_votes": 3})
    tokens = {ROUNDS[0][0]: ev.tokens}
    for round_id, opens, closes in ROUNDS[1:]:
        if round_id in rounds:
            ev.new_round(round_id, opens, closes, list(MEMBERS))
            tokens[round_id] = ev.tokens
    return ev, tokens


def _rows(db_url: str, sql: str) -> list[tuple]:
    """The rows of one query, on a connection of its own."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _ranking(ev: Evaluation, round_id: str) -> dict:
    ranking = ev.cli.json("rank", round_id, "--without-reliability")
    return {k: v for k, v in ranking.items() if k not in ("computed_at", "snapshot")}


def test_rounds_ingested_in_turns_rank_as_alone_and_no_vote_is_stored_twice(
    migrated_db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    files = _files(random.Random(12))
    rounds = [r for r, *_ in ROUNDS]
    both, tokens = _evaluation(migrated_db_url, tmp_path / "both", rounds)
    for turn in range(3):  # October's first file, November's first, October's second, …
        for round_id in rounds:
            _ingest(both, tokens, round_id, files[round_id][turn])

    twice = _rows(
        migrated_db_url,
        "SELECT ballot_id, unit_code, criterion FROM votes "
        "GROUP BY ballot_id, unit_code, criterion HAVING count(*) > 1",
    )
    # Each round's ids are not contiguous: the other round's ballots lie between them.
    spans = _rows(
        migrated_db_url, "SELECT round_id, min(id), max(id) FROM ballots GROUP BY round_id"
    )
    # One vote row per answer of each stored, not rejected, version (15 per round).
    [(stored,)] = _rows(migrated_db_url, "SELECT count(*) FROM votes")
    [(versions,)] = _rows(
        migrated_db_url, "SELECT count(*) FROM ballots WHERE status != 'rejected'"
    )
    assert twice == []
    (_, first_lo, first_hi), (_, second_lo, second_hi) = sorted(spans)
    assert first_lo < second_lo < first_hi < second_hi
    assert versions == 2 * 13  # 12 ballots and P00's second version per round
    assert stored == versions * len(UNITS)

    for round_id in rounds:
        with _fresh_like(migrated_db_url, tmp_path / f"alone-{round_id}.sqlite", request) as url:
            alone, alone_tokens = _evaluation(url, tmp_path / f"alone-{round_id}", rounds)
            for batch in files[round_id]:
                _ingest(alone, alone_tokens, round_id, batch)
            expected = _ranking(alone, round_id)
        got = _ranking(both, round_id)
        # By hand: each seat's last version counts (P00's second; the first file sent again
        # changes nothing), and every unit has the 12 seats' votes.
        first, second, third = files[round_id]
        last = dict([*first, *second, *third[:5]])
        for unit in got["units"]:
            said = [answers[unit["code"]] for answers in last.values()]
            assert unit["votes"] == 12, (round_id, unit)
            assert unit["satisfied_share"] == round(said.count("满意") / 12, 4), (round_id, unit)
        assert got == expected, round_id


def _fresh_like(db_url: str, path: Path, request: pytest.FixtureRequest):
    """A second fresh database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        return nullcontext(request.getfixturevalue("sqlite_template").fresh(path))
    return request.getfixturevalue("pg_schemas").fresh()


@pytest.fixture
def never_analysed(pg_schemas) -> Iterator[str]:
    """A new PostgreSQL schema, migrated, whose tables were never analysed (the pooled schemas
    of ``pg_url`` are reused, and keep their statistics)."""
    with fresh_pg_schema(pg_schemas.url) as url:
        engine = make_engine(url)
        try:
            migrate(engine)
        finally:
            engine.dispose()
        yield url


def test_reading_a_rounds_votes_analyses_vote_statistics_that_are_missing(
    never_analysed: str, tmp_path: Path
) -> None:
    """Deliveries come in small batches, and ``pingyi ingest`` analyses only after a large file:
    the votes may have no statistics when a round is ranked. The votes have no B-tree, so a
    plan made without statistics (a nested loop over them) would not end at province scale; the
    query that joins a round's votes (a ranking's grouped counts) analyses votes and ballots
    first when they were never analysed."""
    files = _files(random.Random(3))
    ev, tokens = _evaluation(never_analysed, tmp_path / "small", [ROUNDS[0][0]])

    def analysed() -> dict[str, bool]:
        return dict(
            _rows(
                never_analysed,
                "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables "
                "WHERE relid IN (to_regclass('votes'), to_regclass('ballots'))",
            )
        )

    assert analysed() == {"votes": False, "ballots": False}
    # 4 ballots: too few for the ingest's own ANALYZE (and no recusal: settling reads no vote)
    _ingest(ev, tokens, ROUNDS[0][0], files[ROUNDS[0][0]][0])
    assert analysed() == {"votes": False, "ballots": False}
    _ranking(ev, ROUNDS[0][0])  # its grouped counts read the round's votes
    assert analysed() == {"votes": True, "ballots": True}
