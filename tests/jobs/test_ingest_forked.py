"""A ballot file read and judged in a forked child (jobs/ingest.py, ``_judge_ahead``) hands the
store exactly what reading it in process hands it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from service.store.vote_rows import voted_units


def test_the_forked_reader_hands_the_store_what_the_thread_hands_it(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a file's batches are read and judged in a forked child and come back light
    (answers dropped, votes as COPY text: ``jobs.ingest._judge_ahead``). Whatever reaches the
    store must be what the in-process path gives it: each record's text, key, error, token,
    time and comments, its hash, its verdict's seat, reasons and voted units, and the COPY
    text of its votes, over several batches with escapes, a rejected ballot and bad JSON. On
    SQLite the thread path runs both times (the comparison then holds trivially)."""
    import jobs.forked
    import jobs.ingest
    from service.config import load_config
    from service.store.bulk import vote_lines
    from service.store.engine import make_engine
    from tests.jobs.test_ingest import setup_round

    (tmp_path / "pingyi.toml").write_text(
        '[rules]\nscale = { "满意" = 100, "a\\\\b\\tc" = 50, "x\\ny" = 20 }\n', encoding="utf-8"
    )
    t = setup_round(cli, tmp_path)
    at = "2026-10-20T10:00:00+08:00"
    lines = [
        json.dumps(r, ensure_ascii=False)
        for r in [
            {"id": "r1", "token": t[0], "submitted_at": at, "comments": {"U2": "说\t明\\"},
             "answers": {"U1": "a\\b\tc", "U2": "x\ny", "U3": 87.5, "U4": "不了解"}},
            {"id": "r2", "token": t[1], "submitted_at": at,
             "answers": {"U1": "满意", "U2": "a\\b\tc", "U3": "1/3"}},
            {"id": "r3", "token": t[2], "submitted_at": at,
             "answers": {"U1": "满意", "U2": "x\ny", "U3": 33.333, "U4": 0}},
            {"id": "r4", "token": "nobody", "submitted_at": at, "answers": {"U1": "满意"}},
        ]
    ] + ['{"id": "r5", "token": ', '{"id": "r6", "token": "t", "answers": []}']  # fmt: skip
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(lines * 2) + "\n", encoding="utf-8")
    monkeypatch.setattr(jobs.ingest, "FILE_BATCH", 3)
    rules = load_config({}, tmp_path / "pingyi.toml").rules
    real_save = jobs.ingest.save_ingest

    def handed(fork: str) -> list:
        seen: list = []

        def save(session, batch, verdicts):
            assert jobs.forked.forking() == (fork == "1")
            for record, version, verdict in zip(batch.records, batch._new, verdicts,
                                                strict=True):  # fmt: skip
                b = record.ballot
                seen.append((
                    record.where, record.text, record.error, record.key, version.sha,
                    None if b is None else (b.token, b.submitted_at, b.comments),
                    None if verdict is None else (
                        verdict.seat_id, verdict.reasons,
                        voted_units(verdict.votes) if verdict.accepted else None,
                        "".join(vote_lines([(1, verdict.votes)])) if verdict.accepted else None),
                ))  # fmt: skip
            return real_save(session, batch, verdicts)

        monkeypatch.setenv(jobs.forked.ENV, fork)
        monkeypatch.setattr(jobs.ingest, "save_ingest", save)
        engine = make_engine(cli.db)
        with engine.connect() as connection, Session(bind=connection) as session:
            jobs.ingest.ingest_file(session, "2026-10", path, "canonical", rules)
            session.rollback()  # nothing kept: the other way starts from the same store
        engine.dispose()
        return seen

    forked, in_process = handed("1"), handed("0")
    assert len(forked) == 6  # each line once: its second copy is the same response, unchanged
    assert forked == in_process
    assert any(v and v[3] and "\\t" in v[3] for *_, v in forked)  # escapes went through
