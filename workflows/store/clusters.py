"""A batch's pending review items grouped by change key (artifacts.change_key): the clusters a reviewer
decides at once. Only pending items of a batch with a key form clusters, and only two or more of them."""

from dataclasses import dataclass

from sqlalchemy import Select, func, select
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
    first = func.min(reviews.c.created_at).label("first")
    query = clustered().add_columns(func.count(), first).order_by(first)
    if batch is not None:
        query = query.where(runs.c.batch_id == batch)
    with engine.connect() as db:
        return [ClusterRow(row[0], row[1], int(row[2]), row[3]) for row in db.execute(query)]


def clustered(aliased: bool = False) -> Select:  # type: ignore[type-arg]
    """(batch id, change key) of every cluster: the one grouping the cluster list and the queue's leaving-out
    both use. `aliased` reads the tables under other names, for a subquery of a query over them."""
    items = reviews.alias("clustered") if aliased else reviews
    its_runs = runs.alias("clustered_runs") if aliased else runs
    return (
        select(its_runs.c.batch_id, items.c.change_key)
        .join(its_runs, its_runs.c.id == items.c.run_id)
        .where(items.c.status == "pending", items.c.change_key.is_not(None), its_runs.c.batch_id.is_not(None))
        .group_by(its_runs.c.batch_id, items.c.change_key)
        .having(func.count() > 1)
    )


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
