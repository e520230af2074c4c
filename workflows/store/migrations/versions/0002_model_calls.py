"""Durable model replies: each reply of a run, recorded before its code runs (replay and budget)."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "crewgate_model_calls",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("scope", sa.String(96), primary_key=True),
        sa.Column("member", sa.String(64), primary_key=True),
        sa.Column("call_index", sa.Integer, primary_key=True),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("crewgate does not downgrade a database: restore a backup instead")
