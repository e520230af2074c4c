"""Reading and writing batches: a batch is a row, its runs are ordinary runs that carry its id."""

import json
from collections.abc import Sequence

from sqlalchemy import TextClause, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from .cursors import Page, after, decode_cursor, page_of
from .reading import EngineReader
from .reads import read_batch
from .records import insert_run
from .rows import BatchRecord, BatchRunRecord, NewBatch
from .tables import batches, reviews, runs


class Batches:
    """Batch rows in the crewgate database (the Store's engine)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, batch_id: str) -> BatchRecord:
        return read_batch(EngineReader(self.engine), batch_id)

    def set_status(self, batch_id: str, status: str) -> None:
        with self.engine.begin() as db:
            db.execute(update(batches).where(batches.c.id == batch_id).values(status=status))

    def runs(self, batch_id: str, limit: int | None = None, cursor: str | None = None) -> list[BatchRunRecord]:
        """The batch's runs in the order of its file (all, or `limit` after `cursor`: see `runs_page`), each
        with its newest review (id and status) if any."""
        query = (
            select(runs.c.id, runs.c.status, runs.c.message, runs.c.inputs, runs.c.created_at)
            .where(runs.c.batch_id == batch_id)
            .order_by(runs.c.created_at, runs.c.id)
        )
        if cursor is not None:
            query = query.where(_after(runs.name, decode_cursor(cursor, (str, str)), newest_first=False))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as db:
            found = list(db.execute(query).mappings())
            opened = db.execute(
                select(reviews.c.run_id, reviews.c.id, reviews.c.status, reviews.c.created_at)
                .where(reviews.c.run_id.in_([row["id"] for row in found]))
                .order_by(reviews.c.created_at)
            ).mappings()
            newest = {row["run_id"]: row for row in opened}
        return [
            BatchRunRecord(
                id=row["id"],
                status=row["status"],
                message=row["message"],
                inputs=json.loads(row["inputs"]),
                created_at=row["created_at"],
                review=newest[row["id"]]["id"] if row["id"] in newest else None,
                review_status=newest[row["id"]]["status"] if row["id"] in newest else None,
            )
            for row in found
        ]

    def runs_page(self, batch_id: str, limit: int, cursor: str | None = None) -> Page[BatchRunRecord]:
        """A page of the batch's runs, in the order of its file, after `cursor` if given."""
        found = self.runs(batch_id, limit + 1, cursor)
        return page_of(found, limit, lambda run: (run.created_at, run.id))

    def position(self, batch_id: str, run: BatchRunRecord) -> int:
        """How many of the batch's runs come before `run` in the order of its file (read from the index)."""
        earlier = _after(runs.name, (run.created_at, run.id), newest_first=True)
        query = select(func.count()).select_from(runs).where(runs.c.batch_id == batch_id, earlier)
        with self.engine.connect() as db:
            return int(db.execute(query).scalar() or 0)

    def concurrency(self, batch_ids: set[str]) -> dict[str, int]:
        if not batch_ids:
            return {}
        with self.engine.connect() as db:
            rows = db.execute(select(batches.c.id, batches.c.concurrency).where(batches.c.id.in_(sorted(batch_ids))))
            return {row.id: row.concurrency for row in rows}


def _after(table: str, key: Sequence[str | int], newest_first: bool) -> TextClause:
    """The rows of `table` after the one whose (created_at, id) is `key` (store/cursors.py)."""
    sql, params = after(f"{table}.created_at", f"{table}.id", key, newest_first)
    return text(sql).bindparams(**params)


def insert_batch(db: Connection, batch: NewBatch, at: str) -> None:
    """Record a batch and its queued runs at `at` in the caller's transaction (all of them, or nothing)."""
    row = {name: getattr(batch, name) for name in ("id", "runbook", "version", "concurrency", "source", "requester")}
    db.execute(insert(batches).values(**row, status="open", created_at=at))
    for run in batch.runs:
        insert_run(db, run, at)
