"""Failed web logins in the database: one throttle for every server process, kept across restarts."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "crewgate_login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("failed_at", sa.Float, nullable=False),
    )
    op.create_index("ix_crewgate_login_failures_subject", "crewgate_login_failures", ["subject"])


def downgrade() -> None:
    raise NotImplementedError("crewgate does not downgrade a database: restore a backup instead")
