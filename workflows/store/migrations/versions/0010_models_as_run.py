"""A run's model override (`crewgate run --model`) is recorded with it; a recorded reply keeps why it
stopped and the model's reasoning, so a step re-run after a crash reads a truncated or reasoning-only
reply exactly as the first time."""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    with op.batch_alter_table("crewgate_runs") as batch:
        batch.add_column(sa.Column("model_override", sa.Text, nullable=True))
    with op.batch_alter_table("crewgate_model_calls") as batch:
        batch.add_column(sa.Column("finish_reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("reasoning", sa.Text, nullable=True))


def downgrade() -> None:
    raise NotImplementedError("crewgate does not downgrade a database: restore a backup instead")
