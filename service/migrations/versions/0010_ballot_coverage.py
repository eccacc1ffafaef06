"""ballots.voted_units: how many units a ballot gave points to

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 01:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ballots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voted_units", sa.Integer(), nullable=True))
    # Ballots stored before: counted once here from their votes (recusals are taken off when a
    # round is settled, as for new ballots).
    op.execute(
        "UPDATE ballots SET voted_units = (SELECT count(DISTINCT votes.unit_code) FROM votes "
        "WHERE votes.ballot_id = ballots.id AND votes.points IS NOT NULL) "
        "WHERE status != 'rejected'"
    )


def downgrade() -> None:
    with op.batch_alter_table("ballots", schema=None) as batch_op:
        batch_op.drop_column("voted_units")
