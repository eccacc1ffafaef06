"""reliability reports

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reliability_reports",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_reliability_reports_round_id_rounds")
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["ranking_snapshots.id"],
            name=op.f("fk_reliability_reports_snapshot_id_ranking_snapshots"),
        ),
        sa.PrimaryKeyConstraint("snapshot_id", name=op.f("pk_reliability_reports")),
    )
    with op.batch_alter_table("reliability_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reliability_reports_round_id"), ["round_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reliability_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reliability_reports_round_id"))
    op.drop_table("reliability_reports")
