"""Schedules fired by crewgate's own scheduler: revisions, what is decided, broken crons, tick kinds, missed ranges."""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("crewgate_schedules") as table:
        table.add_column(sa.Column("revision", sa.Integer, nullable=False, server_default="1"))
        table.add_column(sa.Column("decided_until", sa.Float, nullable=True))
        table.add_column(sa.Column("broken", sa.Text, nullable=True))
    with op.batch_alter_table("crewgate_schedule_ticks") as table:
        table.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="cron"))
        table.add_column(sa.Column("revision", sa.Integer, nullable=True))
        table.add_column(sa.Column("leased_by", sa.String(128), nullable=True))
    op.create_index("ix_crewgate_schedule_ticks_outcome", "crewgate_schedule_ticks", ["outcome"])
    op.create_table(
        "crewgate_schedule_gaps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("schedule", sa.String(128), nullable=False),
        sa.Column("first_at", sa.String(40), nullable=False),
        sa.Column("last_at", sa.String(40), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("revision", sa.Integer, nullable=True),
    )
    op.create_index("ix_crewgate_schedule_gaps_schedule", "crewgate_schedule_gaps", ["schedule"])


def downgrade() -> None:
    raise NotImplementedError("crewgate does not downgrade a database: restore a backup instead")
