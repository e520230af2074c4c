"""Reading and writing batches: a batch is a row, its runs are ordinary runs that carry its id."""

import json

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from ..errors import NotFound
from .records import insert_run
from .rows import BatchRecord, BatchRunRecord, NewBatch
from .tables import batches, reviews, runs

DONE = frozenset({"promoted", "completed"})
FAILED = frozenset({"failed", "rejected"})


class Batches:
    """Batch rows in the crewgate database (the Store's engine)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, batch_id: str) -> BatchRecord:
        with self.engine.connect() as db:
            row = db.execute(select(batches).where(batches.c.id == batch_id)).mappings().first()
        if row is None:
            raise NotFound(f"no batch {batch_id!r}: see `crewgate batch list`")
        return BatchRecord.from_row(row)

    def recent(self, limit: int = 50) -> list[BatchRecord]:
        with self.engine.connect() as db:
            rows = db.execute(select(batches).order_by(batches.c.created_at.desc()).limit(limit)).mappings().all()
        return [BatchRecord.from_row(row) for row in rows]

    def set_status(self, batch_id: str, status: str) -> None:
        with self.engine.begin() as db:
            db.execute(update(batches).where(batches.c.id == batch_id).values(status=status))

    def runs(self, batch_id: str) -> list[BatchRunRecord]:
        """The batch's runs in the order of its file, each with its newest review (id and status) if any."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(runs.c.id, runs.c.status, runs.c.message, runs.c.inputs, runs.c.created_at)
                .where(runs.c.batch_id == batch_id)
                .order_by(runs.c.created_at, runs.c.id)
            ).mappings()
            found = list(rows)
            opened = db.execute(
                select(reviews.c.run_id, reviews.c.id, reviews.c.status, reviews.c.created_at)
                .join(runs, runs.c.id == reviews.c.run_id)
                .where(runs.c.batch_id == batch_id)
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

    def concurrency(self, batch_ids: set[str]) -> dict[str, int]:
        if not batch_ids:
            return {}
        with self.engine.connect() as db:
            rows = db.execute(select(batches.c.id, batches.c.concurrency).where(batches.c.id.in_(sorted(batch_ids))))
            return {row.id: row.concurrency for row in rows}


def insert_batch(db: Connection, batch: NewBatch, at: str) -> None:
    """Record a batch and its queued runs at `at` in the caller's transaction (all of them, or nothing)."""
    row = {name: getattr(batch, name) for name in ("id", "runbook", "version", "concurrency", "source", "requester")}
    db.execute(insert(batches).values(**row, status="open", created_at=at))
    for run in batch.runs:
        insert_run(db, run, at)


def tally(statuses: list[str]) -> dict[str, int]:
    """Counts by what a person cares about: done, waiting for review, failed, cancelled, running, queued."""
    counts = dict.fromkeys(("done", "waiting", "failed", "cancelled", "running", "queued"), 0)
    for status in statuses:
        if status in DONE:
            counts["done"] += 1
        elif status in FAILED:
            counts["failed"] += 1
        elif status in counts:
            counts[status] += 1
    return counts
