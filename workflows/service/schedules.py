"""Schedules as a user or a web page asks for them: apply, list, show, pause, resume, trigger, backfill, delete.

A schedule belongs to a registered runbook version (NAME@VERSION), never to a
file that may change. `apply` checks every entry (cron, time zone, inputs, a
batch's inputs file) before it stores anything, then replaces the runbook's
earlier schedules: our rows hold the settings, DBOS holds the timers that
workers fire.
"""

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadInput, RunError
from ..schedule_records import Schedules

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..runs.services import RunServices


@dataclass(frozen=True)
class TickView:
    tick_at: str
    outcome: str  # started, skipped, missed, failed, starting
    detail: str
    run: str | None
    run_status: str | None
    batch: str | None


@dataclass(frozen=True)
class ScheduleView:
    name: str
    runbook: str  # NAME@VERSION
    cron: str
    timezone: str
    overlap: str
    catch_up: str
    inputs: dict[str, Any]
    batch: dict[str, Any] | None
    paused: bool
    next_fire: str | None
    last_fire: str | None
    last_run: str | None
    last_run_status: str | None
    ticks: dict[str, int]  # counts of the recent ticks by outcome
    recent: tuple[TickView, ...] = ()


def apply_schedules(services: "RunServices", reference: str) -> tuple[list[ScheduleView], list[str]]:
    """Register REFERENCE's version's schedules, replacing that runbook's earlier ones; (schedules, removed names)."""
    from ..batch_file import read_batch_file
    from ..inputs import resolve_inputs
    from ..runbook.resolve import resolve_runbook
    from ..runs.hosting import APP, QUEUE, client
    from ..runs.ticks import TICK_WORKFLOW

    loaded = resolve_runbook(reference, services.store, register=False)
    book = loaded.runbook
    if not book.schedule:
        raise BadInput(f"{loaded.file}: {book.name}@{book.version} has no `schedule:` entries to apply")
    records = Schedules(services.store.engine)
    entries: dict[str, dict[str, Any]] = {}
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
        entries[name] = entry.model_dump(mode="json")
    services.store.register_runbook(loaded)
    removed = records.replace(book.name, book.version, entries)
    with client() as dbos:
        for name in removed:
            dbos.delete_schedule(name)
        dbos.apply_schedules(
            [
                {
                    "schedule_name": name,
                    "workflow_name": TICK_WORKFLOW,
                    "schedule": spec["cron"],
                    "context": {"schedule": name},
                    "automatic_backfill": spec["catch_up"] == "all",
                    "cron_timezone": spec["timezone"],
                    "queue_name": QUEUE,
                    "application_name": APP,
                }
                for name, spec in entries.items()
            ]
        )
    return [show_schedule(services.store.engine, name, recent=0) for name in entries], removed


def list_schedules(engine: "Engine") -> list[ScheduleView]:
    timers = _timers()
    return [_view(engine, row, timers.get(row["name"]), 0) for row in Schedules(engine).all()]


def show_schedule(engine: "Engine", name: str, recent: int = 20) -> ScheduleView:
    row = Schedules(engine).get(name)
    return _view(engine, row, _timers().get(name), recent)


def pause_schedule(engine: "Engine", name: str, paused: bool) -> ScheduleView:
    from ..runs.hosting import client

    Schedules(engine).get(name)
    with client() as dbos:
        (dbos.pause_schedule if paused else dbos.resume_schedule)(name)
    Schedules(engine).set_paused(name, paused)
    return show_schedule(engine, name, recent=0)


def trigger_schedule(engine: "Engine", name: str) -> str:
    """Fire the schedule now (a worker starts it, by the schedule's overlap rule); the tick's workflow id."""
    from ..runs.hosting import client

    Schedules(engine).get(name)
    with client() as dbos:
        return str(dbos.trigger_schedule(name).get_workflow_id())


def backfill_schedule(engine: "Engine", name: str, start: str, end: str) -> list[str]:
    """Fire every tick of the schedule after START and before END (ISO times); ticks already seen start nothing."""
    from ..runs.hosting import client

    Schedules(engine).get(name)
    begin, finish = _instant(start, "--from"), _instant(end, "--to")
    if finish <= begin:
        raise BadInput(f"--to {end} is not after --from {start}")
    with client() as dbos:
        return [handle.get_workflow_id() for handle in dbos.backfill_schedule(name, begin, finish)]


def delete_schedule(engine: "Engine", name: str) -> None:
    from ..runs.hosting import client

    Schedules(engine).get(name)
    with client() as dbos:
        dbos.delete_schedule(name)
    Schedules(engine).delete(name)


def _timers() -> dict[str, dict[str, Any]]:
    from ..runs.hosting import client

    with client() as dbos:
        return {timer["schedule_name"]: dict(timer) for timer in dbos.list_schedules()}


def _view(engine: "Engine", row: dict[str, Any], timer: dict[str, Any] | None, recent: int) -> ScheduleView:
    from ..runs.ticks import ticks_between

    spec = row["spec"]
    records = Schedules(engine)
    ticks = records.ticks(row["name"], limit=max(recent, 200))
    now = datetime.datetime.now(datetime.UTC)
    upcoming = ticks_between(spec, now, now + datetime.timedelta(days=400), 1)
    counts: dict[str, int] = {}
    for tick in ticks:
        counts[tick["outcome"]] = counts.get(tick["outcome"], 0) + 1
    last_run = next((tick for tick in ticks if tick["run_id"]), None)
    return ScheduleView(
        name=row["name"],
        runbook=f"{row['runbook']}@{row['version']}",
        cron=spec["cron"],
        timezone=spec["timezone"],
        overlap=spec["overlap"],
        catch_up=spec["catch_up"],
        inputs=spec["inputs"],
        batch=spec["batch"],
        paused=bool(row["paused"]),
        next_fire=None if row["paused"] or not upcoming else upcoming[0],
        last_fire=timer.get("last_fired_at") if timer else None,
        last_run=last_run["run_id"] if last_run else None,
        last_run_status=last_run["run_status"] if last_run else None,
        ticks=counts,
        recent=tuple(
            TickView(t["tick_at"], t["outcome"], t["detail"], t["run_id"], t["run_status"], t["batch_id"])
            for t in ticks[:recent]
        ),
    )


def _instant(text: str, option: str) -> datetime.datetime:
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError as exc:
        raise RunError(f"{option} {text!r} is not an ISO time: use e.g. 2026-11-22T03:00:00+00:00") from exc
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
