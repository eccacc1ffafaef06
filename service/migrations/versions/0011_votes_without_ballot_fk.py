"""votes.ballot_id without a foreign key

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 04:30:00

PostgreSQL checks a foreign key row by row, with a query per inserted row that locks the
referenced ballot, even inside a COPY. A province ballot file is 2.25 million votes: the check
was most of the ingest (50 s of 90 on the benchmark machine; the COPY without it took 14 s), so
``pingyi ingest`` could not come within twice a plain parse-and-COPY loader (issue #13).

Nothing is lost by dropping it. Votes are written in one place, ``service.store.ballots
.save_ingest``, in the transaction that inserts their ballots and with the ids drawn for those
ballots; ballots are never deleted (every version of every record is kept), so the cascade
never ran. The primary key (ballot, unit, criterion) stays, and with it the index every join
from ballots to votes uses.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_constraint("fk_votes_ballot_id_ballots", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_votes_ballot_id_ballots", "ballots", ["ballot_id"], ["id"], ondelete="CASCADE"
        )
