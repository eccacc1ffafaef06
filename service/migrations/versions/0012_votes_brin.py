"""votes without a primary key, found by a BRIN index; ballots' records compressed with lz4

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 07:00:00

A province ballot file is 2.25 million votes (issue #13). The primary key (ballot, unit,
criterion) was a unique B-tree the size of half the table, and COPYing the province's votes into
the table with it took 4.8 s of the server's time against 1.4 s without it (the same 2.25 million
rows, one after the other on this machine); the whole ``pingyi ingest`` went from 15.6 s to
9.2 s with this migration and the compression below.

Nothing reads a vote by that key. Every query wants the votes of one round's ballots, and ballot
ids are drawn in order, so a round's votes lie together in the table: a BRIN index on
``ballot_id`` (a few pages; it costs 0.7 s over the same COPY) finds them once the query says
the range of the round's ids (``service.store.aggregates.round_votes``). ``autosummarize`` has
autovacuum summarise each filled range; a range not yet summarised is read whole, which is
correct, just not skipped. SQLite has no BRIN: there it is a B-tree on ``ballot_id``.

The primary key guarded against a vote written twice. Votes are written in one place
(``service.store.ballots.save_ingest``), one row per (unit, criterion) of a ballot's answers,
which are a mapping; ``tests/service/test_votes_stored_once.py`` checks a round for duplicates.

``ballots.raw``, the verbatim record, is TOASTed: lz4 compresses the province's 52 MB of records
in 0.4-0.7 s where PostgreSQL's default pglz took 1.5 s (17 MB stored against 14 MB). Set only
where the server was built with lz4 (PostgreSQL 14 and later, as Debian builds it); elsewhere
the column keeps the default.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_LZ4 = (
    "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
    "AND 'lz4' = ANY(enumvals)"
)


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_constraint("pk_votes", type_="primary")
    if postgres:
        op.create_index(
            "ix_votes_ballot_id",
            "votes",
            ["ballot_id"],
            postgresql_using="brin",
            postgresql_with={"autosummarize": "on"},
        )
        if bind.execute(sa.text(_LZ4)).first() is not None:
            op.execute("ALTER TABLE ballots ALTER COLUMN raw SET COMPRESSION lz4")
    else:
        op.create_index("ix_votes_ballot_id", "votes", ["ballot_id"])


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_index("ix_votes_ballot_id", table_name="votes")
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.create_primary_key("pk_votes", ["ballot_id", "unit_code", "criterion"])
    if bind.dialect.name == "postgresql" and bind.execute(sa.text(_LZ4)).first() is not None:
        op.execute("ALTER TABLE ballots ALTER COLUMN raw SET COMPRESSION pglz")
