"""round units, circular reasons

Each round keeps the units it was opened with (``round_units``), and a circular version after
the first says why it was issued (``circulars.reason``). Rounds that exist before this
migration get the units that are active now: the best record there is of what they had.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "round_units",
        sa.Column("round_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("system", sa.String(length=100), nullable=False),
        sa.Column("system_position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_round_units_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("round_id", "code", name=op.f("pk_round_units")),
    )
    with op.batch_alter_table("circulars", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
    op.execute(
        """
        INSERT INTO round_units (round_id, code, name, system, system_position, kind)
        SELECT rounds.id, units.code, units.name, systems.name, systems.position, units.kind
        FROM rounds
        CROSS JOIN units
        JOIN systems ON systems.id = units.system_id
        WHERE units.active
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("circulars", schema=None) as batch_op:
        batch_op.drop_column("reason")
    op.drop_table("round_units")
