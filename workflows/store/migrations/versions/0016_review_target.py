"""Where approving writes, kept on the review item (targets/words.py): the gate step says it when it opens the
item, so the queue lists items without loading a runbook per page. NULL for items opened before: the queue
then works it out from the pinned runbook, as it did."""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    with op.batch_alter_table("crewgate_reviews") as batch:
        batch.add_column(sa.Column("target", sa.Text(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("crewgate does not downgrade a database: restore a backup instead")
