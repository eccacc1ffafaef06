"""veto decision date

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 01:40:00

A veto's decision date (``vetoes.decided_on``) is recorded explicitly (``veto add --date``)
instead of being read off the moment it was typed in. Existing rows get the date they were
recorded on, in the issuing body's time zone (``[circular] timezone``, which ``pingyi init``
hands in as the ``timezone`` attribute; Asia/Shanghai when run without it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import context, op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _local_date(moment: datetime | str, tz: ZoneInfo):
    if isinstance(moment, str):  # SQLite hands back text when the type is not declared
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:  # stored as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).date()


def upgrade() -> None:
    tz = ZoneInfo(context.config.attributes.get("timezone") or "Asia/Shanghai")
    with op.batch_alter_table("vetoes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_on", sa.Date(), nullable=True))
    vetoes = sa.table(
        "vetoes",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("decided_on", sa.Date()),
    )
    bind = op.get_bind()
    for veto_id, at in bind.execute(sa.select(vetoes.c.id, vetoes.c.at)).all():
        bind.execute(
            vetoes.update()
            .where(vetoes.c.id == veto_id)
            .values(decided_on=_local_date(at, tz))
        )
    with op.batch_alter_table("vetoes", schema=None) as batch_op:
        batch_op.alter_column("decided_on", existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("vetoes", schema=None) as batch_op:
        batch_op.drop_column("decided_on")
