"""Schedules as a user or a web page asks for them: apply, list, show, pause, resume, trigger, backfill, delete.

A schedule belongs to a registered runbook version (NAME@VERSION), never to a
file that may change. `apply` checks every entry (cron, time zone, inputs, a
batch's inputs file) before it stores anything, then replaces the runbook's
earlier schedules. Everything here is rows in the database, decided under the
schedule's row lock: it works before any worker has run, and a running worker
sees each change at its next tick (every tick is decided at fire time).
"""

import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..clock import database_now
from ..errors import BadInput, NotFound, RunError
from ..scheduler.backfill import DEFAULT_MOST, Backfill, backfill
from ..scheduler.timer import settle
from ..schedules.cron import CronError
from ..schedules.cron_words import cron_words
from ..store.schedules import ScheduleRecords, ScheduleRow, ScheduleSpec, epoch, tick_key
from .schedule_views import NEXT_FIRES, ScheduleView, TickView, Triggered, local_time

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ..runs.services import RunServices


def apply_schedules(services: "RunServices", reference: str) -> tuple[list[ScheduleView], list[str]]:
    """Register REFERENCE's version's schedules, replacing that runbook's earlier ones; (schedules, removed names).

    A schedule that already exists keeps its ticks and its pause; if its settings changed,
    the ticks due under the old ones up to now are decided first (skipped: replaced).
    """
    from ..runbook.batch_file import read_batch_file
    from ..runbook.inputs import resolve_inputs
    from ..runbook.models import check_models_usable
    from ..store.runbooks import resolve_runbook

    loaded = resolve_runbook(reference, services.store, register=False)
    book = loaded.runbook
    if not book.schedule:
        raise BadInput(f"{loaded.file}: {book.name}@{book.version} has no `schedule:` entries to apply")
    check_models_usable(book)  # a schedule whose every tick would fail for a missing key is not applied
    records = ScheduleRecords(services.store.engine, services.clock)
    entries: dict[str, ScheduleSpec] = {}
    for index, (name, entry) in enumerate(zip(book.schedule_names(), book.schedule, strict=True)):
        where = f"{loaded.file}: schedule[{index}] ({name})"
        if name in entries:
            raise BadInput(f"{where}: the name {name!r} is used twice: give each entry its own `name:`")
        owner = records.owner(name)
        if owner is not None and owner != book.name:
            raise BadInput(f"{where}: the name {name!r} belongs to runbook {owner}'s schedule: choose another name")
        try:
            if entry.batch:
                read_batch_file(Path(loaded.base_dir or ".") / entry.batch.inputs, book)
            else:
                resolve_inputs(book, dict(entry.inputs))
        except BadInput as exc:
            raise BadInput(f"{where}: {exc}") from exc
        entries[name] = ScheduleSpec.from_json(entry.model_dump_json())
    services.store.register_runbook(loaded)
    now = services.clock()
    grace = _grace()
    with records.engine.begin() as db:
        earlier = records.of_runbook(db, book.name)
        for name in earlier:
            if name not in entries:
                records.delete(db, name)
        for name, spec in entries.items():
            row = earlier.get(name)
            if row is None:
                records.insert(db, name, book.name, book.version, spec, epoch(now))
            elif row.version != book.version or row.spec != spec or row.broken:
                why = f"the schedule was replaced by {book.name}@{book.version} before this tick fired"
                settle(records, db, row, now, grace, why)
                records.change(db, row, book.version, spec, epoch(now))
    removed = [name for name in earlier if name not in entries]
    return [show_schedule(services, name, recent=0) for name in entries], removed


def list_schedules(services: "RunServices") -> list[ScheduleView]:
    engine = services.store.engine
    records = ScheduleRecords(engine)
    counts = records.counts()
    now = database_now(engine)
    return [_view(records, row, counts.get(row.name, {}), now, 0) for row in records.all()]


def show_schedule(services: "RunServices", name: str, recent: int = 20) -> ScheduleView:
    engine = services.store.engine
    records = ScheduleRecords(engine)
    row = records.get(name)
    return _view(records, row, records.counts().get(name, {}), database_now(engine), recent)


def pause_schedule(services: "RunServices", name: str, paused: bool) -> ScheduleView:
    """Pause: the ticks due until now are decided first, later ones start nothing. Resume: fire from the next tick.

    Paused time is never caught up: resuming moves `decided_until` to now, so a
    `catch_up: all` schedule runs none of the ticks it was paused for (`backfill` can).
    """
    engine = services.store.engine
    records = ScheduleRecords(engine)
    now = database_now(engine)
    with engine.begin() as db:
        row = _locked(records, db, name)
        if paused and not row.paused:
            settle(records, db, row, now, _grace(), "the schedule was paused before this tick fired")
            records.set(db, name, paused=1)
        elif not paused and row.paused:
            records.set(db, name, paused=0, decided_until=epoch(now))
    return show_schedule(services, name, recent=0)


def trigger_schedule(services: "RunServices", name: str) -> Triggered:
    """Queue a tick now (its own, whatever else is queued); a worker fires it by the overlap rule, even if paused."""
    engine = services.store.engine
    records = ScheduleRecords(engine)
    now = database_now(engine)
    with engine.begin() as db:
        row = _locked(records, db, name)
        moment = now
        while not records.queue(db, row, tick_key(moment, precise=True), "trigger"):
            moment += datetime.timedelta(microseconds=1)  # two triggers in one microsecond: each its own tick
    return Triggered(name, tick_key(moment, precise=True))


def backfill_schedule(
    services: "RunServices", name: str, start: str, end: str, most: int = DEFAULT_MOST, dry_run: bool = False
) -> Backfill:
    """Queue the past ticks between START and END (ISO times) that have not run; see schedules/backfill.py."""
    engine = services.store.engine
    if most < 1:
        raise BadInput(f"--max must be 1 or more (got {most})")
    records = ScheduleRecords(engine)
    return backfill(
        records, name, _instant(start, "--from"), _instant(end, "--to"), database_now(engine), most, dry_run
    )


def delete_schedule(services: "RunServices", name: str) -> None:
    """No more ticks; its runs and recorded ticks are kept (queued ones start nothing)."""
    engine = services.store.engine
    records = ScheduleRecords(engine)
    with engine.begin() as db:
        _locked(records, db, name)
        records.delete(db, name)


def _locked(records: ScheduleRecords, db: "Connection", name: str) -> ScheduleRow:
    """The schedule's row under its lock, or NotFound."""
    row = records.find(db, name, lock=True)
    if row is None:
        raise NotFound(f"no schedule {name!r}: see `crewgate schedule list`")
    return row


def _grace() -> datetime.timedelta:
    from ..runs.liveness import host_timeout

    return datetime.timedelta(seconds=host_timeout())


def _view(
    records: ScheduleRecords, row: ScheduleRow, counts: dict[str, int], now: datetime.datetime, recent: int
) -> ScheduleView:
    spec = row.spec
    zone = spec.timezone or "UTC"
    broken = row.broken
    upcoming: list[datetime.datetime] = []
    if not broken:
        try:
            upcoming = row.timing().cron.next_times(now, NEXT_FIRES)
        except CronError as exc:
            broken = f"its next fire time cannot be computed: {exc}"
    last = records.last_run(row.name)
    fired = records.last_fired(row.name)
    ticks, gaps = records.recent(row.name, recent) if recent else ([], [])
    views = [
        TickView(
            at=tick.tick_at,
            local=local_time(tick.tick_at, zone),
            kind=tick.kind,
            outcome=tick.outcome,
            detail=tick.detail,
            run=tick.run_id,
            run_status=tick.run_status,
            batch=tick.batch_id,
        )
        for tick in ticks
    ] + [
        TickView(
            at=gap.last_at,
            local=local_time(gap.last_at, zone),
            kind="cron",
            outcome="missed",
            detail=gap.detail,
            count=gap.count,
            first=gap.first_at,
        )
        for gap in gaps
    ]
    views.sort(key=lambda view: view.at, reverse=True)
    return ScheduleView(
        name=row.name,
        runbook=row.reference,
        cron=spec.cron,
        cron_words=f"{cron_words(spec.cron)} ({zone})",
        timezone=zone,
        overlap=spec.overlap,
        while_in_review=spec.while_in_review,
        catch_up=spec.catch_up,
        catch_up_window=spec.catch_up_window,
        jitter=spec.jitter,
        inputs=spec.inputs,
        batch=spec.batch,
        paused=row.paused,
        broken=broken,
        revision=row.revision,
        next_fire=None if row.paused or not upcoming else tick_key(upcoming[0]),
        next_fires=tuple((tick_key(at), local_time(tick_key(at), zone)) for at in upcoming),
        last_fire=fired,
        last_run=last[0] if last else None,
        last_run_status=last[1] if last else None,
        ticks=counts,
        recent=tuple(views[:recent]),
    )


def _instant(text: str, option: str) -> datetime.datetime:
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError as exc:
        raise RunError(f"{option} {text!r} is not an ISO time: use e.g. 2026-11-22T03:00:00+00:00") from exc
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
