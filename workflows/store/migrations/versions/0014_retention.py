"""Retention (`crewgate runs prune`): what was pruned of a run, and the snapshot each step try left.

`runs.pruned` is JSON saying when and what (`runs show` tells it); NULL for a run never pruned.
`steps.snapshot` is the sha256 of the workspace snapshot a step try left in the blob store, so a
prune knows every blob of a run; steps recorded before this have none (their runs' intermediate
snapshots are kept: nothing says which they are).
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    with op.batch_alter_table("crewgate_runs") as batch:
        batch.add_column(sa.Column("pruned", sa.Text(), nullable=True))
    with op.batch_alter_table("crewgate_steps") as batch:
        batch.add_column(sa.Column("snapshot", sa.String(64), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("crewgate does not downgrade a database: restore a backup instead")
