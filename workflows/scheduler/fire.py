"""Firing a queued tick: decided from the schedule as it is now, its run recorded in the same transaction.

Whatever queued the tick (the timer, `trigger`, `backfill`), a worker decides it
at fire time under the schedule's row lock: a deleted, replaced or (for cron
ticks) paused schedule starts nothing, and the overlap rule counts the runs
recorded so far, so a burst of ticks, on one worker or several, starts exactly
what the rule allows. The run (or batch) is prepared first (its repository
snapshotted, outside any lock); if the decision is still to start it, the run
rows and the tick's outcome are written in one transaction.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CrewgateError, RunError
from ..runbook.batch_file import read_batch_file
from ..runbook.inputs import resolve_inputs
from ..runbook.models import check_models_usable
from ..runs.create import prepare_batch, prepare_run
from ..runs.liveness import alive_in
from ..runs.services import RunServices
from ..store.batches import insert_batch
from ..store.records import insert_run
from ..store.rows import NewBatch, NewRun, RunState, TickRecord
from ..store.schedules import ScheduleRecords, ScheduleRow

PREPARE_TRIES = 3


@dataclass(frozen=True)
class Fired:
    """What became of a queued tick."""

    schedule: str
    tick_at: str
    kind: str  # cron, trigger, backfill
    outcome: str  # started, skipped, failed
    detail: str = ""
    run: str | None = None
    batch: str | None = None


@dataclass(frozen=True)
class _Prepared:
    revision: int
    run: NewRun | None = None
    batch: NewBatch | None = None


def why_not(tick: TickRecord, row: ScheduleRow | None, unfinished: list[RunState]) -> str:
    """Why this tick starts nothing, decided from the schedule as it is now; "" to start it."""
    if row is None:
        return "the schedule was deleted before this tick fired"
    if tick.revision is not None and tick.revision != row.revision:
        return f"the schedule was replaced (now {row.reference} at '{row.spec.cron}') before this tick fired"
    if row.paused and tick.kind == "cron":
        return "the schedule is paused"
    overlap = row.spec.overlap
    if overlap == "skip" and unfinished:
        first = unfinished[0]
        if first.status == "waiting":
            return f"run {first.id} of this schedule waits for review (overlap: skip, while_in_review: skip)"
        return f"run {first.id} of this schedule is still {first.status} (overlap: skip)"
    queued = next((run for run in unfinished if run.status == "queued"), None)
    if overlap == "buffer_one" and queued:
        return f"run {queued.id} already waits to start after the one before it (overlap: buffer_one)"
    return ""


def fire(services: RunServices, tick: TickRecord, worker: str) -> Fired | None:
    """Decide a queued tick and start or skip it; None if another worker did, or is preparing it.

    `worker` (this process's executor id) leases the tick while its run is prepared, so
    two workers do not both snapshot a repository for it; a lease whose worker is gone
    is taken over.
    """
    records = ScheduleRecords(services.store.engine, services.clock)
    name, at, kind = tick.schedule, tick.tick_at, tick.kind
    prepared: _Prepared | None = None
    for _ in range(PREPARE_TRIES):
        with records.engine.begin() as db:
            row = records.find(db, name, lock=True)
            current = records.tick(db, name, at)
            if current is None or current.outcome != "queued":
                return None
            holder = current.leased_by
            if holder not in (None, worker) and alive_in(db, holder):
                return None
            if holder != worker:
                records.lease(db, name, at, worker)
            with_waiting = row is not None and row.spec.while_in_review == "skip"
            why = why_not(current, row, records.unfinished_runs(db, name, with_waiting) if row else [])
            if why or row is None:  # (a deleted schedule always has a why)
                records.settle(db, name, at, "skipped", why)
                return Fired(name, at, kind, "skipped", why)
            if prepared is not None and prepared.revision == row.revision:
                ids = _record(db, prepared, services.records.timestamp())
                records.settle(db, name, at, "started", "", run_id=ids.get("run"), batch_id=ids.get("batch"))
                return Fired(name, at, kind, "started", "", ids.get("run"), ids.get("batch"))
        try:
            prepared = _prepare(services, row, at)
        except Exception as exc:  # noqa: BLE001 -- recorded on the tick; the worker and other ticks go on
            detail = str(exc) if isinstance(exc, CrewgateError) else f"{type(exc).__name__}: {exc}"
            return _failed(records, name, at, kind, detail)
    return _failed(records, name, at, kind, "the schedule kept changing while its run was being prepared")


def _prepare(services: RunServices, row: ScheduleRow, at: str) -> _Prepared:
    """The tick's run (or batch), its repository snapshotted: slow work, done outside the row lock."""
    loaded = services.store.get_runbook(row.runbook, row.version).load()
    requester = f"schedule {row.name}"
    batch = row.spec.batch
    if batch:
        inputs_file = Path(loaded.base_dir or ".") / batch.inputs
        rows = read_batch_file(inputs_file, loaded.runbook)
        source = f"schedule {row.name} at {at}: {inputs_file}"
        prepared = prepare_batch(
            services, loaded, rows, inputs_file, batch.concurrency, requester, source, schedule=row.name
        )
        return _Prepared(row.revision, batch=prepared)
    inputs = resolve_inputs(loaded.runbook, row.spec.inputs)
    check_models_usable(loaded.runbook)  # a key gone since `schedule apply` fails the tick, naming it
    return _Prepared(row.revision, run=prepare_run(services, loaded, inputs, requester, schedule=row.name))


def _record(db: Any, prepared: _Prepared, at: str) -> dict[str, str]:
    """Record the tick's run or batch at `at` in the caller's transaction; its id by kind."""
    if prepared.batch is not None:
        insert_batch(db, prepared.batch, at)
        return {"batch": prepared.batch.id}
    if prepared.run is None:  # never: one of the two is always prepared
        raise RunError("the tick prepared neither a run nor a batch")
    insert_run(db, prepared.run, at)
    return {"run": prepared.run.id}


def give_up(records: ScheduleRecords, name: str, at: str, detail: str) -> None:
    """Record a queued tick that cannot be fired as failed, so the ticks behind it are not held up."""
    _failed(records, name, at, "", detail)


def _failed(records: ScheduleRecords, name: str, at: str, kind: str, detail: str) -> Fired | None:
    with records.engine.begin() as db:
        records.find(db, name, lock=True)
        current = records.tick(db, name, at)
        if current is None or current.outcome != "queued":
            return None
        records.settle(db, name, at, "failed", detail)
    return Fired(name, at, kind, "failed", detail[:2000])
