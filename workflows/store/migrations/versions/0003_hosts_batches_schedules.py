"""Liveness of hosting processes, batches, schedules and their ticks; runs know their batch and schedule."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("crewgate_runs") as table:
        table.add_column(sa.Column("batch_id", sa.String(32), nullable=True))
        table.add_column(sa.Column("schedule", sa.String(64), nullable=True))
        table.add_column(sa.Column("hosted_by", sa.String(128), nullable=True))
    op.create_index("ix_crewgate_runs_batch_id", "crewgate_runs", ["batch_id"])
    op.create_index("ix_crewgate_runs_schedule", "crewgate_runs", ["schedule"])
    op.create_table(
        "crewgate_hosts",
        sa.Column("executor_id", sa.String(128), primary_key=True),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("seen_at", sa.Float, nullable=False),
    )
    op.create_table(
        "crewgate_batches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("runbook", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("concurrency", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("requester", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "crewgate_schedules",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("runbook", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("paused", sa.Integer, nullable=False),
        sa.Column("applied_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "crewgate_schedule_ticks",
        sa.Column("schedule", sa.String(128), primary_key=True),
        sa.Column("tick_at", sa.String(40), primary_key=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("batch_id", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("crewgate does not downgrade a database: restore a backup instead")
