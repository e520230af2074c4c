"""Indexes for lists read a page at a time with a cursor (store/cursors.py): runs newest first, a batch's runs
in order, batches newest first, review items by status or by age; and a run's promotions (`runs show`). With
them no list query scans its table, at 100,000 runs as at 100 (tests/test_list_queries.py reads the plans)."""

from alembic import op

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    op.create_index("ix_crewgate_runs_created", "crewgate_runs", ["created_at", "id"])
    op.create_index("ix_crewgate_runs_batch_created", "crewgate_runs", ["batch_id", "created_at", "id"])
    op.create_index("ix_crewgate_batches_created", "crewgate_batches", ["created_at", "id"])
    op.create_index("ix_crewgate_reviews_created", "crewgate_reviews", ["created_at", "id"])
    op.drop_index("ix_crewgate_reviews_status_created", "crewgate_reviews")
    op.create_index("ix_crewgate_reviews_status_created", "crewgate_reviews", ["status", "created_at", "id"])
    op.create_index("ix_crewgate_promotions_run", "crewgate_promotions", ["run_id"])


def downgrade() -> None:
    raise NotImplementedError("crewgate does not downgrade a database: restore a backup instead")
