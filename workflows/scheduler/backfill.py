"""Backfill: fire a schedule's past ticks in a range, deliberately, after downtime or a pause.

Only past ticks: a range reaching into the future stops at now, and the timer
fires the rest on time. Ticks are counted before anything is queued (ten years
of a per-second cron in no time); more than `most` is refused with the count.
A tick recorded as missed runs now; a tick never seen (paused time, before the
schedule existed) runs too; a tick already queued, started, skipped or failed
starts nothing. Queued backfill ticks are fired by workers like any other, by
the schedule's overlap rule, and wait in the database for the first worker.
"""

import datetime
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..errors import BadInput
from ..schedules.cron import CronError
from ..store.rows import GapRecord
from ..store.schedules import ScheduleRecords, ScheduleRow, tick_key
from ..store.tables import schedule_ticks

DEFAULT_MOST = 1000


@dataclass(frozen=True)
class BackfillTick:
    at: str
    state: str  # missed, unseen (both run), or what was recorded: queued, started, skipped, failed


@dataclass(frozen=True)
class Backfill:
    schedule: str
    start: str
    end: str  # the range's end, clipped to now
    clipped: bool  # --to was in the future
    count: int  # ticks in the range
    ticks: tuple[BackfillTick, ...]
    queued: int  # ticks queued by this call (0 for a dry run)

    @property
    def to_run(self) -> int:
        return sum(tick.state in ("missed", "unseen") for tick in self.ticks)


def backfill(
    records: ScheduleRecords,
    name: str,
    start: datetime.datetime,
    end: datetime.datetime,
    now: datetime.datetime,
    most: int = DEFAULT_MOST,
    dry_run: bool = False,
) -> Backfill:
    """Queue the schedule's ticks in [start, end) that may run; with `dry_run`, only say which."""
    if end <= start:
        raise BadInput(f"--to {tick_key(end)} is not after --from {tick_key(start)}")
    clipped = end > now
    end = min(end, now)
    row = records.get(name)
    if row.broken:
        raise BadInput(f"schedule {name} is broken ({row.broken}): apply a fixed runbook before backfilling")
    try:
        cron = row.timing().cron
        count = cron.count(start, end) if end > start else 0
    except CronError as exc:
        raise BadInput(f"schedule {name}: {exc}") from exc
    if count > most:
        raise BadInput(
            f"{count:,} ticks of {name} lie between {tick_key(start)} and {tick_key(end)}, more than --max {most}: "
            f"narrow --from/--to, or pass --max {count} if you mean it (check with --dry-run)"
        )
    with records.engine.begin() as db:
        row = records.find(db, name, lock=True) or row
        ticks = _states(records, db, row, [tick_key(at) for at in cron.between(start, end)])
        queued = 0 if dry_run else _queue(records, db, row, ticks)
    return Backfill(name, tick_key(start), tick_key(end), clipped, count, tuple(ticks), queued)


def _states(records: ScheduleRecords, db: Connection, row: ScheduleRow, keys: list[str]) -> list[BackfillTick]:
    if not keys:
        return []
    query = select(schedule_ticks.c.tick_at, schedule_ticks.c.outcome).where(
        schedule_ticks.c.schedule == row.name,
        schedule_ticks.c.tick_at >= keys[0],
        schedule_ticks.c.tick_at <= keys[-1],
    )
    recorded = {found.tick_at: found.outcome for found in db.execute(query)}
    gaps = records.gaps(db, row.name)
    states = []
    for key in keys:
        outcome = recorded.get(key)
        if outcome is None:
            outcome = "missed" if _gap_of(gaps, row, key) is not None else "unseen"
        states.append(BackfillTick(key, outcome))
    return states


def _queue(records: ScheduleRecords, db: Connection, row: ScheduleRow, ticks: list[BackfillTick]) -> int:
    gaps = records.gaps(db, row.name)
    queued = 0
    for tick in ticks:
        if tick.state == "unseen":
            records.queue(db, row, tick.at, "backfill")
        elif tick.state == "missed":
            gap = _gap_of(gaps, row, tick.at)
            if gap is not None:
                records.take_from_gap(db, gap.id)
                gap.count -= 1
                records.queue(db, row, tick.at, "backfill")
            else:  # a missed tick recorded on its own row (crewgate before missed ranges)
                records.settle(db, row.name, tick.at, "queued", "backfilled")
        else:
            continue
        queued += 1
    return queued


def _gap_of(gaps: list[GapRecord], row: ScheduleRow, key: str) -> GapRecord | None:
    return next(
        (
            gap
            for gap in gaps
            if gap.count > 0 and gap.revision in (None, row.revision) and gap.first_at <= key <= gap.last_at
        ),
        None,
    )
