"""Model calls litellm could not price are marked, so a cost total says it is a lower bound."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("crewgate_model_calls") as batch:
        batch.add_column(sa.Column("unpriced", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    raise NotImplementedError("crewgate does not downgrade a database: restore a backup instead")
