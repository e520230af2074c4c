"""The review queue as the database reads it: filtered, ordered and one page at a time.

Pending items come first, then the others, each part oldest (or newest) first. The
two parts are read as two ranges of an index, not sorted: the pending items from
`(status, created_at, id)`, the rest from `(created_at, id)`; a page continues after
a cursor (rank, time, id) naming its last row (store/cursors.py), so a page costs
the same however deep it is and however long the queue. Each part is counted in
the same filters, up to COUNT_CAP items: past that the total is shown as "1,000+"
(counting 10,000 pending items on every page would make the page grow with the
queue). Evidence is never read here. SQL text on a `Reader` (store/reading.py): `review list`
reads the queue without importing SQLAlchemy.
"""

from dataclasses import dataclass

from ..plain import Row
from .clusters import clustered
from .cursors import after, decode_cursor, encode_cursor
from .reading import Params, Reader
from .rows import QueueRecord

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


def queue_page(reader: Reader, query: QueueQuery) -> QueueRows:
    """One page of the queue and how many items match the filters in all."""
    parts = [query.status] if query.status else ["pending", None]  # None: every status but pending
    size = MAX_ROW if query.limit is None else min(max(query.limit, 0), MAX_ROW)
    start, key, skip = 0, None, min(max(query.offset, 0), MAX_ROW)
    if query.cursor is not None:
        rank, moment, last = decode_cursor(query.cursor, (int, str, str))
        start, key, skip = min(max(int(rank), 0), len(parts) - 1), (str(moment), str(last)), 0
    found: list[tuple[int, QueueRecord]] = []
    with reader.together() as db:
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
            rows = _part(db, query, parts[rank], key if rank == start else None, wanted, skip)
            found += [(rank, QueueRecord.from_row(row)) for row in rows]
            skip = 0
    shown = found[:size]
    more = len(found) > size and shown
    cursor = encode_cursor(shown[-1][0], shown[-1][1].created_at, shown[-1][1].id) if more else None
    capped = any(count > COUNT_CAP for count in counts)
    return QueueRows([row for _, row in shown], sum(min(count, COUNT_CAP) for count in counts), cursor, capped)


def _part(
    reader: Reader, query: QueueQuery, status: str | None, key: tuple[str, str] | None, limit: int, offset: int
) -> list[Row]:
    """Up to `limit` items of one part of the queue (`status`), after `offset` of them or after the item whose
    (time, id) is `key` (a cursor's), in the query's order."""
    where, params = _filtered(query, status)
    if key is not None:
        cursor_sql, cursor_params = after("crewgate_reviews.created_at", "crewgate_reviews.id", key, query.newest_first)
        where, params = f"{where} AND {cursor_sql}", {**params, **cursor_params}
    order = "DESC" if query.newest_first else "ASC"
    return reader.rows(
        f"SELECT {_COLUMNS} FROM {_JOINED} WHERE {where}"  # noqa: S608 (values are parameters)
        f" ORDER BY crewgate_reviews.created_at {order}, crewgate_reviews.id {order} LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )


_JOINED = "crewgate_reviews JOIN crewgate_runs ON crewgate_runs.id = crewgate_reviews.run_id"
_COLUMNS = (  # a QueueRecord's: the item, and its run's runbook, batch, requester and inputs
    "crewgate_reviews.id, crewgate_reviews.run_id, crewgate_reviews.step_id, crewgate_reviews.status,"
    " crewgate_reviews.artifact_sha256, crewgate_reviews.created_at, crewgate_reviews.expires_at,"
    " crewgate_runs.runbook, crewgate_runs.version, crewgate_runs.batch_id, crewgate_runs.requester,"
    " crewgate_runs.inputs, crewgate_reviews.lines_added, crewgate_reviews.lines_removed, crewgate_reviews.paths,"
    " crewgate_reviews.change_key, crewgate_reviews.target"
)


def _count(reader: Reader, query: QueueQuery, status: str | None, most: int) -> int:
    """How many items of `status` match, counting at most `most` of them (an index range read that far)."""
    where, params = _filtered(query, status)
    if status is None and not query.batch:  # every status but pending, as two ranges of the status index (`!=` scans)
        where += " AND (crewgate_reviews.status < 'pending' OR crewgate_reviews.status > 'pending')"
    found = reader.rows(
        f"SELECT COUNT(*) AS counted FROM (SELECT crewgate_reviews.id FROM {_JOINED} WHERE {where}"  # noqa: S608
        " LIMIT :most) AS matching",
        {**params, "most": most},
    )
    return int(found[0]["counted"])


def _filtered(query: QueueQuery, status: str | None) -> tuple[str, Params]:
    """The SQL condition of the query's filters, for items of `status` (None: of every status but pending)."""
    # A batch's items are read from its runs (an index range as long as the batch), not picked out of every item
    # of the status (as long as the queue): `status || ''` keeps the planner off the status index.
    status_of = "(crewgate_reviews.status || '')" if query.batch else "crewgate_reviews.status"
    conditions = [f"{status_of} = :status" if status else f"{status_of} != 'pending'"]
    params: dict[str, object] = {"status": status} if status else {}
    if query.batch:
        conditions.append("crewgate_runs.batch_id = :batch")
        params["batch"] = query.batch
    if query.requester:
        conditions.append("crewgate_runs.requester = :requester")
        params["requester"] = query.requester
    if query.without_clusters:  # not a pending item of a cluster (the grouping read under other names)
        conditions.append(
            "NOT (crewgate_reviews.status = 'pending' AND crewgate_reviews.change_key IS NOT NULL"
            " AND crewgate_runs.batch_id IS NOT NULL"
            f" AND (crewgate_runs.batch_id, crewgate_reviews.change_key) IN ({clustered(aliased=True)}))"
        )
    if query.runbook:
        name, _, version = query.runbook.partition("@")
        conditions.append("crewgate_runs.runbook = :runbook")
        params["runbook"] = name
        if version:
            conditions.append("crewgate_runs.version = :version")
            params["version"] = version
    return " AND ".join(conditions), params
