"""The review queue as the database reads it: filtered, ordered and one page at a time.

A queue of 10,000 pending items is read a page at a time (LIMIT/OFFSET over the
`(status, created_at)` index) and counted in the same query's filters, so a page
costs the same however long the queue is. Evidence is never read here.
"""

from dataclasses import dataclass

from sqlalchemy import and_, case, func, select, tuple_
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

from .clusters import clustered
from .rows import QueueRecord
from .tables import reviews, runs

MAX_ROW = 2**62  # an offset or limit past any queue (the database's integers are 64-bit; a page number is not)


@dataclass(frozen=True)
class QueueQuery:
    """Which items, in what order, which page. `runbook` is a name (any version) or NAME@VERSION."""

    status: str | None = None
    batch: str | None = None
    runbook: str | None = None
    requester: str | None = None
    newest_first: bool = False  # default: pending first, oldest first (the longest waiting at the top)
    limit: int | None = None  # None: every item
    offset: int = 0
    without_clusters: bool = False  # leave out pending items of a batch's clusters (the web shows each once)


def queue_page(engine: Engine, query: QueueQuery) -> tuple[list[QueueRecord], int]:
    """One page of the queue and how many items match the filters in all."""
    item = reviews.c
    columns = select(
        item.id,
        item.run_id,
        runs.c.runbook,
        runs.c.version,
        item.step_id,
        item.status,
        item.artifact_sha256,
        item.created_at,
        item.expires_at,
        runs.c.batch_id,
        runs.c.requester,
        runs.c.inputs,
        item.lines_added,
        item.lines_removed,
        item.paths,
        item.change_key,
    ).join(runs, runs.c.id == item.run_id)
    filtered = _filtered(columns, query)
    counted = _filtered(select(func.count()).select_from(reviews.join(runs, runs.c.id == item.run_id)), query)
    waiting_first = case((item.status == "pending", 0), else_=1)
    newest = item.created_at.desc() if query.newest_first else item.created_at
    ordered = filtered.order_by(waiting_first, newest, item.id).offset(min(max(query.offset, 0), MAX_ROW))
    if query.limit is not None:
        ordered = ordered.limit(min(max(query.limit, 0), MAX_ROW))
    with engine.connect() as db:
        total = int(db.execute(counted).scalar() or 0)
        return [QueueRecord.from_row(row) for row in db.execute(ordered).mappings()], total


def _filtered(statement: Select, query: QueueQuery) -> Select:  # type: ignore[type-arg]
    item = reviews.c
    if query.status:
        statement = statement.where(item.status == query.status)
    if query.batch:
        statement = statement.where(runs.c.batch_id == query.batch)
    if query.requester:
        statement = statement.where(runs.c.requester == query.requester)
    if query.without_clusters:
        groups = clustered(aliased=True)  # not the outer query's rows
        in_a_cluster = and_(
            item.status == "pending",
            item.change_key.is_not(None),
            runs.c.batch_id.is_not(None),
            tuple_(runs.c.batch_id, item.change_key).in_(groups),
        )
        statement = statement.where(~in_a_cluster)
    if query.runbook:
        name, _, version = query.runbook.partition("@")
        statement = statement.where(runs.c.runbook == name)
        if version:
            statement = statement.where(runs.c.version == version)
    return statement
