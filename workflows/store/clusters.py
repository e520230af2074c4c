"""A batch's pending review items grouped by change key (artifacts.change_key): the clusters a reviewer
decides at once. Only pending items of a batch with a key form clusters, and only two or more of them."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from .tables import reviews, runs


@dataclass(frozen=True)
class ClusterRow:
    batch_id: str
    change_key: str
    items: int
    first_created: str


def pending_clusters(engine: Engine, batch: str | None = None) -> list[ClusterRow]:
    """Every cluster of two or more pending items (of one batch), oldest first."""
    item = reviews.c
    query = (
        select(runs.c.batch_id, item.change_key, func.count().label("items"), func.min(item.created_at).label("first"))
        .join(runs, runs.c.id == item.run_id)
        .where(item.status == "pending", item.change_key.is_not(None), runs.c.batch_id.is_not(None))
        .group_by(runs.c.batch_id, item.change_key)
        .having(func.count() > 1)
        .order_by("first")
    )
    if batch is not None:
        query = query.where(runs.c.batch_id == batch)
    with engine.connect() as db:
        return [ClusterRow(row[0], row[1], int(row[2]), row[3]) for row in db.execute(query)]


@dataclass(frozen=True)
class PendingItem:
    id: str
    change_key: str | None
    lines_added: int | None
    lines_removed: int | None
    paths: int | None


def batch_pending_items(engine: Engine, batch: str) -> list[PendingItem]:
    """The batch's pending items, oldest first, each with its change key and size."""
    item = reviews.c
    query = (
        select(item.id, item.change_key, item.lines_added, item.lines_removed, item.paths)
        .join(runs, runs.c.id == item.run_id)
        .where(runs.c.batch_id == batch, item.status == "pending")
        .order_by(item.created_at, item.id)
    )
    with engine.connect() as db:
        return [PendingItem(*row) for row in db.execute(query)]
