"""A schedule's tick, as a DBOS workflow the scheduler starts once per tick on the runs queue.

DBOS gives each tick the workflow id `sched-NAME-TIME` and starts it only if that
id is new, so several workers do not double-fire; the tick row (schedule + tick
time) is claimed before anything starts, so even a tick seen twice starts at
most one run or batch. A process that dies between the claim and the run leaves
the tick `starting` with no run: visible in `schedule show`, never doubled.

DBOS refuses configured-instance methods as scheduled workflows, so the tick is
a module function and reaches this process's services through `bind` (called by
`launch`, before DBOS starts).
"""

import datetime
from pathlib import Path
from typing import Any

from croniter import croniter
from dbos import DBOS

from ..errors import BadInput, CrewgateError
from ..schedule_records import Schedules
from .services import RunServices

TICK_WORKFLOW = "crewgate_schedule_tick"
MAX_MISSED = 1000  # missed ticks recorded per schedule when a worker comes back
_bound: dict[str, RunServices] = {}


def bind(services: RunServices) -> None:
    _bound["services"] = services


@DBOS.workflow(name=TICK_WORKFLOW)
def schedule_tick(scheduled_time: Any, context: dict[str, Any]) -> dict[str, Any]:
    return tick_step(tick_time(scheduled_time), context)


def tick_time(value: datetime.datetime | str) -> str:
    """One spelling per tick (UTC, whole seconds): the tick row's key, however DBOS passed the time."""
    moment = value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).isoformat(timespec="seconds")


@DBOS.step()
def tick_step(tick_at: str, context: dict[str, Any]) -> dict[str, Any]:
    return handle_tick(_bound["services"], str(context["schedule"]), tick_at)


def handle_tick(services: RunServices, name: str, tick_at: str) -> dict[str, Any]:
    """Start this tick's run (or batch), or record why not (skipped for overlap, failed for bad inputs)."""
    schedules = Schedules(services.store.engine)
    if not schedules.claim_tick(name, tick_at):
        return {"outcome": "seen"}  # another worker (or an earlier try) has it
    try:
        row = schedules.get(name)
    except CrewgateError:
        schedules.settle_tick(name, tick_at, "skipped", "the schedule was deleted")
        return {"outcome": "skipped"}
    spec = row["spec"]
    working = schedules.working_runs(name)
    reason = overlap_reason(spec["overlap"], working)
    if reason:
        schedules.settle_tick(name, tick_at, "skipped", reason)
        return {"outcome": "skipped"}
    try:
        ids = start_for_tick(services, row, name, tick_at)
    except BadInput as exc:  # the runbook, its inputs or the repository changed since apply
        schedules.settle_tick(name, tick_at, "failed", str(exc)[:2000])
        return {"outcome": "failed"}
    except Exception as exc:  # Docker or the database: the tick says so instead of staying `starting`
        schedules.settle_tick(name, tick_at, "failed", f"{type(exc).__name__}: {exc}"[:2000])
        raise
    schedules.settle_tick(name, tick_at, "started", "", **ids)
    return {"outcome": "started", **ids}


def overlap_reason(overlap: str, working: list[dict[str, Any]]) -> str:
    """Why the overlap policy skips this tick, or "" to start it."""
    if overlap == "skip" and working:
        return f"run {working[0]['id']} of this schedule is still {working[0]['status']} (overlap: skip)"
    queued = next((run for run in working if run["status"] == "queued"), None)
    if overlap == "buffer_one" and queued:
        return f"run {queued['id']} already waits to start after the running one (overlap: buffer_one)"
    return ""


def start_for_tick(services: RunServices, row: dict[str, Any], name: str, tick_at: str) -> dict[str, str | None]:
    """Record the tick's run (or batch) for the workers; its ids."""
    from ..inputs import resolve_inputs
    from ..service.batches import start_batch
    from .create import create_run

    reference = f"{row['runbook']}@{row['version']}"
    spec, requester = row["spec"], f"schedule {name}"
    loaded = services.store.get_runbook(row["runbook"], row["version"]).load()
    if spec.get("batch"):
        inputs_file = Path(loaded.base_dir or ".") / spec["batch"]["inputs"]
        source = f"schedule {name} at {tick_at}: {inputs_file}"
        concurrency = int(spec["batch"]["concurrency"])
        started = start_batch(services, reference, inputs_file, concurrency, requester, source, schedule=name)
        return {"batch_id": started.id, "run_id": None}
    inputs = resolve_inputs(loaded.runbook, dict(spec["inputs"]))
    return {"run_id": create_run(services, loaded, inputs, requester, schedule=name), "batch_id": None}


def ticks_between(spec: dict[str, Any], start: datetime.datetime, end: datetime.datetime, limit: int) -> list[str]:
    """The schedule's tick times after `start` and before `end`, in its time zone, at most `limit`."""
    from zoneinfo import ZoneInfo

    found: list[str] = []
    times = croniter(spec["cron"], start.astimezone(ZoneInfo(spec["timezone"])), second_at_beginning=True)
    while len(found) < limit:
        tick = times.get_next(datetime.datetime)
        if tick >= end:
            break
        found.append(tick_time(tick))
    return found


def record_missed_ticks(services: RunServices) -> int:
    """At a worker's start with no other worker alive: record every tick since the last one handled as missed.

    Only `catch_up: none` schedules that are not paused; `catch_up: all` ones are backfilled
    by DBOS instead. A tick some other crewgate process fired meanwhile finds its row
    taken and starts nothing, so nothing missed runs late.
    """
    schedules = Schedules(services.store.engine)
    now = services.clock()
    total = 0
    for row in schedules.all():
        if row["spec"]["catch_up"] != "none" or row["paused"]:
            continue
        since = schedules.last_tick(row["name"]) or row["applied_at"]
        ticks = ticks_between(row["spec"], datetime.datetime.fromisoformat(since), now, MAX_MISSED)
        total += schedules.record_missed(row["name"], ticks)
    return total
