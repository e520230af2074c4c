"""The sandbox runtime a run is pinned to (runc or runsc, gVisor): every step of it, on any worker, starts its
sandbox under that runtime or not at all. Runs recorded before this ran under runc."""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    with op.batch_alter_table("crewgate_runs") as batch:
        batch.add_column(sa.Column("runtime", sa.String(16), nullable=False, server_default="runc"))


def downgrade() -> None:
    raise NotImplementedError("crewgate does not downgrade a database: restore a backup instead")
