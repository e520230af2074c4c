"""The timer: each worker's pass over the schedules queues the ticks that are due and records the missed ones.

A pass holds one schedule's row lock at a time, plans from the row as it is
(plan.py), writes the queued ticks and missed ranges, and advances
`decided_until`, all in one transaction. A schedule whose cron cannot be
computed is marked broken there and then: it fires nothing until it is applied
again, and it never stops the pass, the worker, or another schedule.

`pause` and `apply` first decide the ticks up to now the same way, so nothing
due before them is lost and nothing after them fires under the old settings.
"""

import datetime
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..schedules.cron import CronError
from ..schedules.plan import Gap, Plan, plan_ticks
from ..store.schedules import ScheduleRecords, ScheduleRow, epoch, tick_key
from ..store.tables import schedule_ticks


@dataclass(frozen=True)
class Looked:
    """What a pass did for one schedule."""

    schedule: str
    queued: tuple[str, ...] = ()
    missed: tuple[Gap, ...] = ()
    broken: str | None = None


def look(records: ScheduleRecords, name: str, now: datetime.datetime, grace: datetime.timedelta) -> Looked:
    """Queue `name`'s due ticks and record its missed ones, under its row lock.

    A first look without the lock says whether anything is due at all: most passes find
    nothing, and then write nothing.
    """
    with records.engine.connect() as db:
        row = records.find(db, name)
        if row is None or row.paused or row.broken:
            return Looked(name)
        try:
            quiet = not _has_work(_plan(db, row, now, grace))
        except CronError:
            quiet = False  # decided under the lock below, where it is marked broken
    if quiet:
        return Looked(name)
    with records.engine.begin() as db:
        row = records.find(db, name, lock=True)
        if row is None or row.paused or row.broken:
            return Looked(name)
        try:
            plan = _plan(db, row, now, grace)
        except CronError as exc:
            why = f"its next fire time cannot be computed: {exc}; fix `cron:` and apply the runbook again"
            records.set(db, name, broken=why)
            return Looked(name, broken=why)
        queued = []
        for due in plan.due:
            late = f"late by {due.late.total_seconds():.0f}s (catch_up: all)" if due.late > grace else ""
            if records.queue(db, row, tick_key(due.at), "cron", late):
                queued.append(tick_key(due.at))
        for gap in plan.missed:
            records.add_gap(db, row, gap)
        records.set(db, name, decided_until=epoch(plan.decided_until))
    return Looked(name, tuple(queued), plan.missed)


def _plan(db: Connection, row: ScheduleRow, now: datetime.datetime, grace: datetime.timedelta) -> Plan:
    timing = row.timing()
    next(timing.cron.after(now))  # a cron that never fires again is broken, not silent
    return plan_ticks(row.name, timing, _since(db, row), now, grace)


def _has_work(plan: Plan) -> bool:
    return bool(plan.due or plan.missed)


def settle(
    records: ScheduleRecords,
    db: Connection,
    row: ScheduleRow,
    now: datetime.datetime,
    grace: datetime.timedelta,
    why: str,
) -> None:
    """Decide `row`'s ticks up to now before its settings change: due ones are skipped with `why`, old ones missed.

    A tick whose jittered fire time has not come yet is skipped too: its time is before now.
    """
    if row.paused or row.broken:
        return
    try:
        plan = _plan(db, row, now, grace)
        waiting = list(row.timing().cron.between(plan.decided_until, now + datetime.timedelta(microseconds=1)))
    except CronError:
        return  # its times cannot be computed: there is nothing to decide
    for tick in [due.at for due in plan.due] + waiting:
        records.queue(db, row, tick_key(tick), "cron", why, outcome="skipped")
    for gap in plan.missed:
        records.add_gap(db, row, gap)


def _since(db: Connection, row: ScheduleRow) -> datetime.datetime:
    """Where deciding resumes: `decided_until`, or for a schedule from before it existed, its newest tick."""
    if row.decided_until is not None:
        return row.decided_since()
    newest = db.execute(select(func.max(schedule_ticks.c.tick_at)).where(schedule_ticks.c.schedule == row.name))
    found = newest.scalar()
    applied = datetime.datetime.fromisoformat(row.applied_at)
    if found is None:
        return applied
    return max(applied, datetime.datetime.fromisoformat(found) + datetime.timedelta(seconds=1))
