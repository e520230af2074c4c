"""The records the read commands read: a run, a page of runs, a run's steps, trace, review items and
promotions, a batch. SQL text on a `Reader` (store/reading.py), so `runs list`, `runs show` and `review list` never
import SQLAlchemy; `Records` and `Batches` read through these too.
"""

from ..errors import NotFound
from .cursors import DEFAULT_PAGE, Page, after, decode_cursor, page_of
from .reading import Reader
from .rows import BatchRecord, PromotionRecord, ReviewRecord, RunRecord, StepRecord, TraceRecord


def read_run(reader: Reader, run_id: str) -> RunRecord:
    found = reader.rows("SELECT * FROM crewgate_runs WHERE id = :run_id", {"run_id": run_id})
    if not found:
        raise NotFound(f"no run {run_id!r}: see `crewgate runs list`")
    return RunRecord.from_row(found[0])


def runs_page(reader: Reader, limit: int = DEFAULT_PAGE, cursor: str | None = None) -> Page[RunRecord]:
    """A page of runs, newest first, from the start or after `cursor` (store/cursors.py)."""
    where, params = (
        ("1 = 1", {}) if cursor is None else after("created_at", "id", decode_cursor(cursor, (str, str)), True)
    )
    found = reader.rows(
        f"SELECT * FROM crewgate_runs WHERE {where} ORDER BY created_at DESC, id DESC LIMIT :limit",  # noqa: S608
        {**params, "limit": limit + 1},
    )
    return page_of([RunRecord.from_row(row) for row in found], limit, lambda run: (run.created_at, run.id))


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
    found = reader.rows("SELECT * FROM crewgate_batches WHERE id = :batch_id", {"batch_id": batch_id})
    if not found:
        raise NotFound(f"no batch {batch_id!r}: see `crewgate batch list`")
    return BatchRecord.from_row(found[0])
