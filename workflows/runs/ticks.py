"""What is left of DBOS's cron timers, which fired schedule ticks before crewgate's own scheduler did.

A home made by an earlier crewgate has DBOS schedules whose timers start the
workflow `crewgate_schedule_tick`. A worker removes those timers when it starts
(the scheduler in workflows/schedules decides every tick now, from crewgate's
own rows), and this workflow stays registered so a tick such a timer queued
just before the upgrade ends quietly: it starts nothing, and the scheduler's
timer decides that tick from the schedule's newest recorded one.
"""

from typing import Any

from dbos import DBOS

TICK_WORKFLOW = "crewgate_schedule_tick"


@DBOS.workflow(name=TICK_WORKFLOW)
def legacy_schedule_tick(scheduled_time: Any, context: Any) -> dict[str, str]:
    return {"outcome": "ignored: schedules are fired by crewgate's scheduler"}


def drop_legacy_timers() -> int:
    """Remove every DBOS schedule (crewgate made them before 0.3); how many there were."""
    timers = DBOS.list_schedules()
    for timer in timers:
        DBOS.delete_schedule(timer["schedule_name"])
    return len(timers)
