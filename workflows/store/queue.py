"""The review queue as the database reads it: filtered, ordered and one page at a time.

Pending items come first, then the others, each part oldest (or newest) first. The
two parts are read as two ranges of an index, not sorted: the pending items from
`(status, created_at, id)`, the rest from `(created_at, id)`; a page continues after
a cursor (rank, time, id) naming its last row (store/cursors.py), so a page costs
the same however deep it is and however long the queue. Each part is counted in
the same filters, up to COUNT_CAP items: past that the total is shown as "1,000+"
(counting 10,000 pending items on every page would make the page grow with the
queue). Evidence is never read here.
"""

from dataclasses import dataclass

from sqlalchemy import UnaryExpression, and_, func, or_, select, tuple_
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select

from .clusters import clustered
from .cursors import after, decode_cursor, encode_cursor
from .rows import QueueRecord
from .tables import reviews, runs

COUNT_CAP = 1_000  # items of each part (pending, the rest) counted at most; more are shown as "1,000+"
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
    offset: int = 0  # items skipped first (pages by number: a deep one reads what it skips)
    without_clusters: bool = False  # leave out pending items of a batch's clusters (the web shows each once)
    cursor: str | None = None  # continue after the page that gave this cursor (offset is then not used)


@dataclass(frozen=True)
class QueueRows:
    """A page of the queue as read: its rows, how many items match in all, the next page's cursor (or None)."""

    rows: list[QueueRecord]
    total: int
    next_cursor: str | None
    total_capped: bool = False  # a part holds more than COUNT_CAP items: `total` counts COUNT_CAP of it


def queue_page(engine: Engine, query: QueueQuery) -> QueueRows:
    """One page of the queue and how many items match the filters in all."""
    parts = [query.status] if query.status else ["pending", None]  # None: every status but pending
    size = MAX_ROW if query.limit is None else min(max(query.limit, 0), MAX_ROW)
    start, key, skip = 0, None, min(max(query.offset, 0), MAX_ROW)
    if query.cursor is not None:
        rank, moment, last = decode_cursor(query.cursor, (int, str, str))
        start, key, skip = min(max(int(rank), 0), len(parts) - 1), (str(moment), str(last)), 0
    found: list[tuple[int, QueueRecord]] = []
    with engine.connect() as db:
        counts = [_count(db, query, status, COUNT_CAP + 1) for status in parts]
        for rank in range(start, len(parts)):
            if skip:  # an offset: skip a part it passes (counted as far as the offset, past the cap if need be)
                held = counts[rank] if counts[rank] <= COUNT_CAP else _count(db, query, parts[rank], skip + 1)
                if skip >= held:
                    skip -= held
                    continue
            wanted = size + 1 - len(found)
            if wanted <= 0:
                break
            statement = _filtered(_columns(), query, parts[rank])
            if key is not None and rank == start:
                statement = statement.where(after(reviews.c.created_at, reviews.c.id, key, query.newest_first))
            ordered = statement.order_by(*_order(query.newest_first)).offset(skip).limit(wanted)
            found += [(rank, QueueRecord.from_row(row)) for row in db.execute(ordered).mappings()]
            skip = 0
    shown = found[:size]
    more = len(found) > size and shown
    cursor = encode_cursor(shown[-1][0], shown[-1][1].created_at, shown[-1][1].id) if more else None
    capped = any(count > COUNT_CAP for count in counts)
    return QueueRows([row for _, row in shown], sum(min(count, COUNT_CAP) for count in counts), cursor, capped)


def _columns() -> Select:  # type: ignore[type-arg]
    item = reviews.c
    return select(
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
        item.target,
    ).join(runs, runs.c.id == item.run_id)


def _count(db: Connection, query: QueueQuery, status: str | None, most: int) -> int:
    """How many items of `status` match, counting at most `most` of them (an index range read that far)."""
    matching = _filtered(select(reviews.c.id).join(runs, runs.c.id == reviews.c.run_id), query, status)
    if status is None and not query.batch:  # every status but pending, as two ranges of the status index (`!=` scans)
        item = reviews.c
        matching = matching.where(or_(item.status < "pending", item.status > "pending"))
    matching = matching.limit(most)
    return int(db.execute(select(func.count()).select_from(matching.subquery())).scalar() or 0)


def _order(newest_first: bool) -> tuple[UnaryExpression[str], UnaryExpression[str]]:
    item = reviews.c
    if newest_first:
        return item.created_at.desc(), item.id.desc()
    return item.created_at.asc(), item.id.asc()


def _filtered(statement: Select, query: QueueQuery, status: str | None) -> Select:  # type: ignore[type-arg]
    """`statement` under the query's filters, for items of `status` (None: of every status but pending)."""
    item = reviews.c
    # A batch's items are read from its runs (an index range as long as the batch), not picked out of every item
    # of the status (as long as the queue): `status || ''` keeps the planner off the status index.
    status_of = item.status.concat("") if query.batch else item.status
    statement = statement.where(status_of == status if status else status_of != "pending")
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
