"""Schedules, their ticks and their missed ranges in the database.

A schedule row pins a registered runbook version and the entry's settings, its
`revision` (raised whenever `apply` changes it), `decided_until` (every tick
before it is decided) and `broken` (why its times cannot be computed). Every
write that decides ticks holds the schedule's row lock (SELECT ... FOR UPDATE
on PostgreSQL; SQLite's BEGIN IMMEDIATE locks the database), so workers,
`pause`, `apply`, `trigger` and `backfill` never decide the same tick twice.

A tick row is a tick someone must act on or has acted on: `queued` (for any
worker), then `started` (its run or batch), `skipped` (why) or `failed` (why).
Its key, schedule + tick time, makes each tick start at most one run.
Missed ticks are ranges (`crewgate_schedule_gaps`) with their count.
"""

import datetime
import json
from dataclasses import dataclass, field, fields

from sqlalchemy import RowMapping, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from ..clock import Clock, stamp, wall_clock
from ..durations import parse_duration
from ..errors import NotFound
from ..plain import JsonObject, plain
from ..schedules.cron import CronTimes
from ..schedules.plan import Gap, Timing
from .rows import GapRecord, RunState, TickRecord
from .tables import runs, schedule_gaps, schedule_ticks, schedules

QUEUED = "queued"
UNFINISHED = ("queued", "running")  # and `waiting` when the schedule's while_in_review is skip
DEFAULT_WINDOW = "7d"


@dataclass(frozen=True)
class BatchSpec:
    """A schedule's batch: an inputs file (relative to the runbook's folder) and its runs working at once."""

    inputs: str
    concurrency: int = 2


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule entry as `schedule apply` stored it (runbook.schema.ScheduleEntry, checked then).

    Read back without checking again: a cron valid when applied may no longer fire, and the
    schedule is then shown as broken rather than refused. Settings added after an entry was
    stored read as their defaults.
    """

    cron: str
    timezone: str = "UTC"
    inputs: JsonObject = field(default_factory=dict)
    overlap: str = "skip"
    while_in_review: str = "skip"
    catch_up: str = "none"
    catch_up_window: str = DEFAULT_WINDOW
    jitter: str | None = None
    batch: BatchSpec | None = None
    name: str | None = None

    @classmethod
    def from_json(cls, text: str) -> "ScheduleSpec":
        stored = json.loads(text)
        batch = stored.get("batch")
        known = {name: stored[name] for name in _SPEC_FIELDS if stored.get(name) is not None}
        return cls(**{**known, "batch": BatchSpec(**batch) if batch else None})

    def to_json(self) -> str:
        return json.dumps(plain(self))


_SPEC_FIELDS = tuple(item.name for item in fields(ScheduleSpec) if item.name != "batch")


@dataclass(frozen=True)
class ScheduleRow:
    name: str
    runbook: str
    version: str
    spec: ScheduleSpec
    paused: bool
    applied_at: str
    revision: int
    decided_until: float | None
    broken: str | None

    @property
    def reference(self) -> str:
        return f"{self.runbook}@{self.version}"

    def timing(self) -> Timing:
        """The entry's timing; CronError if its cron or zone cannot be read (a broken schedule)."""
        return timing_of(self.spec)

    def decided_since(self) -> datetime.datetime:
        if self.decided_until is not None:
            return datetime.datetime.fromtimestamp(self.decided_until, datetime.UTC)
        return datetime.datetime.fromisoformat(self.applied_at)


def timing_of(spec: ScheduleSpec) -> Timing:
    window = parse_duration(spec.catch_up_window or DEFAULT_WINDOW)
    if window is None:
        window = datetime.timedelta(days=7)
    jitter = parse_duration(spec.jitter) if spec.jitter else None
    return Timing(CronTimes(spec.cron, spec.timezone or "UTC"), spec.catch_up, window, jitter)


def tick_key(moment: datetime.datetime, precise: bool = False) -> str:
    """A tick's key: UTC ISO, whole seconds for cron ticks, microseconds for triggers (unique per call)."""
    return moment.astimezone(datetime.UTC).isoformat(timespec="microseconds" if precise else "seconds")


def epoch(moment: datetime.datetime) -> float:
    return moment.timestamp()


class ScheduleRecords:
    def __init__(self, engine: Engine, clock: Clock = wall_clock) -> None:
        self.clock = clock
        self.engine = engine

    # -- schedules -----------------------------------------------------------------
    def get(self, name: str) -> ScheduleRow:
        with self.engine.connect() as db:
            found = self.find(db, name)
        if found is None:
            raise NotFound(f"no schedule {name!r}: see `crewgate schedule list`")
        return found

    def find(self, db: Connection, name: str, lock: bool = False) -> ScheduleRow | None:
        query = select(schedules).where(schedules.c.name == name)
        row = db.execute(query.with_for_update() if lock else query).mappings().first()
        return _row(row) if row is not None else None

    def all(self) -> list[ScheduleRow]:
        with self.engine.connect() as db:
            rows = db.execute(select(schedules).order_by(schedules.c.name)).mappings().all()
        return [_row(row) for row in rows]

    def of_runbook(self, db: Connection, runbook: str) -> dict[str, ScheduleRow]:
        query = select(schedules).where(schedules.c.runbook == runbook).with_for_update()
        return {row["name"]: _row(row) for row in db.execute(query).mappings()}

    def insert(self, db: Connection, name: str, runbook: str, version: str, spec: ScheduleSpec, at: float) -> None:
        """A new schedule; a name used before gets a revision above every one its old ticks carry."""
        used = [
            db.execute(select(func.max(table.c.revision)).where(table.c.schedule == name)).scalar() or 0
            for table in (schedule_ticks, schedule_gaps)
        ]
        db.execute(
            insert(schedules).values(
                name=name,
                runbook=runbook,
                version=version,
                spec=spec.to_json(),
                paused=0,
                applied_at=stamp(self.clock()),
                revision=max(used) + 1,
                decided_until=at,
                broken=None,
            )
        )

    def change(self, db: Connection, row: ScheduleRow, version: str, spec: ScheduleSpec, at: float) -> None:
        """A new revision of the schedule: ticks from now on follow it; its pause state is kept."""
        db.execute(
            update(schedules)
            .where(schedules.c.name == row.name)
            .values(
                version=version,
                spec=spec.to_json(),
                revision=row.revision + 1,
                decided_until=at,
                broken=None,
                applied_at=stamp(self.clock()),
            )
        )

    def set(self, db: Connection, name: str, **values: object) -> None:
        db.execute(update(schedules).where(schedules.c.name == name).values(**values))

    def delete(self, db: Connection, name: str) -> None:
        """No more ticks: its queued ones are skipped now (its recorded ticks and runs are kept)."""
        db.execute(delete(schedules).where(schedules.c.name == name))
        db.execute(
            update(schedule_ticks)
            .where(schedule_ticks.c.schedule == name, schedule_ticks.c.outcome == QUEUED)
            .values(outcome="skipped", detail="the schedule was deleted before this tick fired")
        )

    def owner(self, name: str) -> str | None:
        with self.engine.connect() as db:
            return db.execute(select(schedules.c.runbook).where(schedules.c.name == name)).scalar()

    # -- ticks ------------------------------------------------------------------------
    def queue(
        self, db: Connection, row: ScheduleRow, at: str, kind: str, detail: str = "", outcome: str = QUEUED
    ) -> bool:
        """Record a tick to act on (or, with `outcome`, one already decided); False if it was already recorded."""
        if self.tick(db, row.name, at) is not None:
            return False
        db.execute(
            insert(schedule_ticks).values(
                schedule=row.name,
                tick_at=at,
                outcome=outcome,
                detail=detail,
                recorded_at=stamp(self.clock()),
                kind=kind,
                revision=row.revision,
            )
        )
        return True

    def tick(self, db: Connection, name: str, at: str) -> TickRecord | None:
        query = select(schedule_ticks).where(schedule_ticks.c.schedule == name, schedule_ticks.c.tick_at == at)
        found = db.execute(query).mappings().first()
        return TickRecord.from_row(found) if found is not None else None

    def queued(self, limit: int = 50) -> list[TickRecord]:
        """Ticks waiting for a worker, oldest first."""
        query = (
            select(schedule_ticks)
            .where(schedule_ticks.c.outcome == QUEUED)
            .order_by(schedule_ticks.c.tick_at, schedule_ticks.c.schedule)
            .limit(limit)
        )
        with self.engine.connect() as db:
            return [TickRecord.from_row(row) for row in db.execute(query).mappings()]

    def any_queued(self) -> bool:
        query = select(schedule_ticks.c.schedule).where(schedule_ticks.c.outcome == QUEUED).limit(1)
        with self.engine.connect() as db:
            return db.execute(query).first() is not None

    def lease(self, db: Connection, name: str, at: str, worker: str) -> None:
        db.execute(
            update(schedule_ticks)
            .where(schedule_ticks.c.schedule == name, schedule_ticks.c.tick_at == at)
            .values(leased_by=worker)
        )

    def settle(self, db: Connection, name: str, at: str, outcome: str, detail: str = "", **ids: str | None) -> None:
        db.execute(
            update(schedule_ticks)
            .where(schedule_ticks.c.schedule == name, schedule_ticks.c.tick_at == at)
            .values(outcome=outcome, detail=detail[:2000], **ids)
        )

    def add_gap(self, db: Connection, row: ScheduleRow, gap: Gap) -> None:
        db.execute(
            insert(schedule_gaps).values(
                schedule=row.name,
                first_at=tick_key(gap.first),
                last_at=tick_key(gap.last),
                count=gap.count,
                detail=gap.why,
                recorded_at=stamp(self.clock()),
                revision=row.revision,
            )
        )

    def gaps(self, db: Connection, name: str) -> list[GapRecord]:
        query = select(schedule_gaps).where(schedule_gaps.c.schedule == name).order_by(schedule_gaps.c.first_at)
        return [GapRecord.from_row(row) for row in db.execute(query).mappings()]

    def take_from_gap(self, db: Connection, gap_id: int) -> None:
        """One tick of a missed range is being run after all (backfill): the range counts one fewer."""
        db.execute(update(schedule_gaps).where(schedule_gaps.c.id == gap_id).values(count=schedule_gaps.c.count - 1))
        db.execute(delete(schedule_gaps).where(schedule_gaps.c.id == gap_id, schedule_gaps.c.count <= 0))

    def counts(self) -> dict[str, dict[str, int]]:
        """Every schedule's ticks by outcome, true totals (missed ranges counted tick by tick)."""
        totals: dict[str, dict[str, int]] = {}
        by_outcome = select(schedule_ticks.c.schedule, schedule_ticks.c.outcome, func.count()).group_by(
            schedule_ticks.c.schedule, schedule_ticks.c.outcome
        )
        missed = select(schedule_gaps.c.schedule, func.sum(schedule_gaps.c.count)).group_by(schedule_gaps.c.schedule)
        with self.engine.connect() as db:
            for name, outcome, number in db.execute(by_outcome):
                totals.setdefault(name, {})[outcome] = int(number)
            for name, number in db.execute(missed):
                found = totals.setdefault(name, {})
                found["missed"] = found.get("missed", 0) + int(number or 0)
        return totals

    def recent(self, name: str, limit: int) -> tuple[list[TickRecord], list[GapRecord]]:
        """The newest `limit` tick rows (with their run's status) and missed ranges, newest first."""
        ticks = (
            select(schedule_ticks, runs.c.status.label("run_status"))
            .outerjoin(runs, runs.c.id == schedule_ticks.c.run_id)
            .where(schedule_ticks.c.schedule == name)
            .order_by(schedule_ticks.c.tick_at.desc())
            .limit(limit)
        )
        gaps = (
            select(schedule_gaps)
            .where(schedule_gaps.c.schedule == name)
            .order_by(schedule_gaps.c.last_at.desc())
            .limit(limit)
        )
        with self.engine.connect() as db:
            found = [TickRecord.from_row(row) for row in db.execute(ticks).mappings()]
            return found, [GapRecord.from_row(row) for row in db.execute(gaps).mappings()]

    def last_run(self, name: str) -> tuple[str, str] | None:
        """The schedule's newest run and its status."""
        query = (
            select(runs.c.id, runs.c.status).where(runs.c.schedule == name).order_by(runs.c.created_at.desc()).limit(1)
        )
        with self.engine.connect() as db:
            found = db.execute(query).first()
        return (found.id, found.status) if found is not None else None

    def last_fired(self, name: str) -> str | None:
        query = select(func.max(schedule_ticks.c.tick_at)).where(
            schedule_ticks.c.schedule == name, schedule_ticks.c.outcome == "started"
        )
        with self.engine.connect() as db:
            return db.execute(query).scalar()

    def unfinished_runs(self, db: Connection, name: str, with_waiting: bool) -> list[RunState]:
        """The schedule's runs that count for overlap, oldest first: queued, running (and waiting for review)."""
        statuses = (*UNFINISHED, "waiting") if with_waiting else UNFINISHED
        query = select(runs.c.id, runs.c.status).where(runs.c.schedule == name, runs.c.status.in_(statuses))
        return [RunState(row.id, row.status) for row in db.execute(query.order_by(runs.c.created_at))]


def _row(row: RowMapping) -> ScheduleRow:
    return ScheduleRow(
        name=row["name"],
        runbook=row["runbook"],
        version=row["version"],
        spec=ScheduleSpec.from_json(row["spec"]),
        paused=bool(row["paused"]),
        applied_at=row["applied_at"],
        revision=int(row["revision"] or 1),
        decided_until=row["decided_until"],
        broken=row["broken"],
    )
