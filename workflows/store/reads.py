"""The records the read commands read: a run, a page of runs, a run's steps, trace, review items and
promotions, a batch, a page of batches and their runs' statuses. SQL text on a `Reader` (store/reading.py), so
`runs list`, `runs show`, `runs trace`, `review list` and `batch list` never import SQLAlchemy; `Records` and
`Batches` read through these too.
"""

from ..errors import NotFound
from ..plain import Row
from .cursors import DEFAULT_PAGE, Page, after, decode_cursor, page_of
from .reading import Reader, in_list
from .rows import BatchRecord, PromotionRecord, ReviewRecord, RunRecord, StepRecord, TraceRecord


def read_run(reader: Reader, run_id: str) -> RunRecord:
    return RunRecord.from_row(_one(reader, "crewgate_runs", run_id, f"no run {run_id!r}: see `crewgate runs list`"))


def runs_page(reader: Reader, limit: int = DEFAULT_PAGE, cursor: str | None = None) -> Page[RunRecord]:
    """A page of runs, newest first, from the start or after `cursor` (store/cursors.py)."""
    found = [RunRecord.from_row(row) for row in _newest_first(reader, "crewgate_runs", limit, cursor)]
    return page_of(found, limit, lambda run: (run.created_at, run.id))


def steps_of_run(reader: Reader, run_id: str) -> list[StepRecord]:
    """The run's step tries in the order they started."""
    found = reader.rows(
        "SELECT * FROM crewgate_steps WHERE run_id = :run_id ORDER BY started_at, attempt", {"run_id": run_id}
    )
    return [StepRecord.from_row(row) for row in found]


def trace_of_run(reader: Reader, run_id: str, after_id: int = 0) -> list[TraceRecord]:
    """The run's trace events in order; with `after_id`, only the ones recorded since."""
    found = reader.rows(
        "SELECT * FROM crewgate_trace WHERE run_id = :run_id AND id > :after_id ORDER BY id",
        {"run_id": run_id, "after_id": after_id},
    )
    return [TraceRecord.from_row(row) for row in found]


def reviews_of_run(reader: Reader, run_id: str, status: str | None = None) -> list[ReviewRecord]:
    """The run's review items, oldest first (only those in `status`, if given)."""
    only, params = (" AND status = :status", {"status": status}) if status is not None else ("", {})
    found = reader.rows(
        f"SELECT * FROM crewgate_reviews WHERE run_id = :run_id{only} ORDER BY created_at",  # noqa: S608
        {"run_id": run_id, **params},
    )
    return [ReviewRecord.from_row(row) for row in found]


def promotions_of_run(reader: Reader, run_id: str) -> list[PromotionRecord]:
    found = reader.rows("SELECT * FROM crewgate_promotions WHERE run_id = :run_id", {"run_id": run_id})
    return [PromotionRecord.from_row(row) for row in found]


def read_batch(reader: Reader, batch_id: str) -> BatchRecord:
    missing = f"no batch {batch_id!r}: see `crewgate batch list`"
    return BatchRecord.from_row(_one(reader, "crewgate_batches", batch_id, missing))


def batches_page(reader: Reader, limit: int = DEFAULT_PAGE, cursor: str | None = None) -> Page[BatchRecord]:
    """A page of batches, newest first, after `cursor` if given (store/cursors.py)."""
    found = [BatchRecord.from_row(row) for row in _newest_first(reader, "crewgate_batches", limit, cursor)]
    return page_of(found, limit, lambda batch: (batch.created_at, batch.id))


def batch_statuses(reader: Reader, batch_ids: list[str]) -> dict[str, dict[str, int]]:
    """For each batch, its runs counted by run status, counted by the database (a batch may hold 10,000)."""
    wanted, params = in_list("batch", sorted(set(batch_ids)))
    if not params:
        return {}
    found: dict[str, dict[str, int]] = {batch_id: {} for batch_id in batch_ids}
    for row in reader.rows(
        f"SELECT batch_id, status, COUNT(*) AS runs FROM crewgate_runs WHERE batch_id IN ({wanted})"  # noqa: S608
        " GROUP BY batch_id, status",
        params,
    ):
        found[str(row["batch_id"])][str(row["status"])] = int(row["runs"])
    return found


def _newest_first(reader: Reader, table: str, limit: int, cursor: str | None) -> list[Row]:
    """`limit` + 1 rows of `table` (one more says a next page exists), newest first by (created_at, id), from the
    start or after `cursor`."""
    where, params = (
        ("1 = 1", {}) if cursor is None else after("created_at", "id", decode_cursor(cursor, (str, str)), True)
    )
    return reader.rows(
        f"SELECT * FROM {table} WHERE {where} ORDER BY created_at DESC, id DESC LIMIT :limit",  # noqa: S608
        {**params, "limit": limit + 1},
    )


def _one(reader: Reader, table: str, row_id: str, missing: str) -> Row:
    """The row of `table` whose id is `row_id`; NotFound saying `missing` when there is none."""
    found = reader.rows(f"SELECT * FROM {table} WHERE id = :id", {"id": row_id})  # noqa: S608 (a table of ours)
    if not found:
        raise NotFound(missing)
    return found[0]
