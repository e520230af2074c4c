"""Durable tool calls: each call a member's code makes to a tool, recorded before its result reaches the cell
(started, then its outcome), so a step re-run after a crash replays it instead of calling again; and a
runbook version's Python tool modules, kept with it (their bytes are part of its hash)."""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    with op.batch_alter_table("crewgate_runbook_versions") as batch:
        batch.add_column(sa.Column("tool_modules", sa.Text, nullable=True))
    op.create_table(
        "crewgate_tool_calls",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("scope", sa.String(96), primary_key=True),
        sa.Column("member", sa.String(64), primary_key=True),
        sa.Column("call_index", sa.Integer, primary_key=True),
        sa.Column("tool", sa.String(300), nullable=False),
        sa.Column("arguments", sa.Text, nullable=False),
        sa.Column("local", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("error_type", sa.String(64), nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("duration_s", sa.Float, nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("crewgate does not downgrade a database: restore a backup instead")
