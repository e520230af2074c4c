"""A review item's size and change key, kept when it opens: the queue shows each row's +/− lines and paths
without opening its artifact, and a batch's items with the same change key form one cluster (README: "The
review queue"). An index on (status, created_at) keeps a page of a long queue fast. Items opened before
this have no size (shown blank) and no key (never clustered)."""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    with op.batch_alter_table("crewgate_reviews") as batch:
        batch.add_column(sa.Column("lines_added", sa.Integer, nullable=True))
        batch.add_column(sa.Column("lines_removed", sa.Integer, nullable=True))
        batch.add_column(sa.Column("paths", sa.Integer, nullable=True))
        batch.add_column(sa.Column("change_key", sa.String(64), nullable=True))
    op.create_index("ix_crewgate_reviews_status_created", "crewgate_reviews", ["status", "created_at"])


def downgrade() -> None:
    raise NotImplementedError("crewgate does not downgrade a database: restore a backup instead")
