"""Claiming a queued run: exactly one worker gets it, and a batch's or schedule's limit holds across workers.

Several workers on one database poll the same queued runs. A claim is one
transaction: it locks the run's batch (or schedule) row, counts that group's
runs already working or claimed, and sets the run's host only if the run is
still queued under the host the worker saw and the group has room. SQLite's
BEGIN IMMEDIATE serialises the transaction as a whole; on PostgreSQL the row
lock does, so two workers cannot each see the last free slot.
"""

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection, Engine

from ..clock import Clock, stamp, wall_clock
from ..store.rows import RunRecord
from ..store.schedules import ScheduleSpec
from ..store.tables import batches, runs, schedules

# Working or about to: running, or queued and claimed by a host (which starts it at once).
_TAKES_A_SLOT = or_(runs.c.status == "running", and_(runs.c.status == "queued", runs.c.hosted_by.is_not(None)))


def claim_run(
    engine: Engine, run: RunRecord, executor: str, group_limit: int | None = None, clock: Clock = wall_clock
) -> bool:
    """Make `executor` the host of `run` if it is still queued under the host it had and its group has room."""
    previous = run.hosted_by
    same_host = runs.c.hosted_by.is_(None) if previous is None else runs.c.hosted_by == previous
    with engine.begin() as db:
        if group_limit is not None and _group_working(db, run) >= group_limit:
            return False
        claimed = db.execute(
            update(runs)
            .where(runs.c.id == run.id, runs.c.status == "queued", same_host)
            .values(hosted_by=executor, updated_at=stamp(clock()))
        )
        return bool(claimed.rowcount == 1)


def _group_working(db: Connection, run: RunRecord) -> int:
    """The other runs of the run's batch (or schedule) that take a slot, counted under the group's row lock."""
    if run.batch_id:
        db.execute(select(batches.c.id).where(batches.c.id == run.batch_id).with_for_update()).first()
        group = runs.c.batch_id == run.batch_id
    else:
        locked = select(schedules.c.spec).where(schedules.c.name == run.schedule).with_for_update()
        stored = db.execute(locked).scalar()
        group = and_(runs.c.schedule == run.schedule, runs.c.batch_id.is_(None))
        # with while_in_review: skip, a run waiting for review still holds the schedule's slot
        if stored is None or ScheduleSpec.from_json(stored).while_in_review == "skip":
            query = select(func.count()).select_from(runs).where(group, or_(_TAKES_A_SLOT, runs.c.status == "waiting"))
            return int(db.execute(query.where(runs.c.id != run.id)).scalar_one())
    query = select(func.count()).select_from(runs).where(group, _TAKES_A_SLOT, runs.c.id != run.id)
    return int(db.execute(query).scalar_one())
