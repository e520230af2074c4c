"""`crewgate worker`: host queued runs, take over interrupted ones, continue decided ones.

With `until_idle` it returns only when no run can move on without a person:
every run that has not ended is waiting at a review that is still pending.
A run in the middle of a step, queued, or whose review was decided or has
expired keeps it serving, so it never leaves a run half-done.
"""

import time
from collections.abc import Callable
from typing import Any

from .hosting import client, enqueue, launch, wake_decided
from .services import RunServices

WORKER = "worker"


def serve(services: RunServices, say: Callable[[dict[str, Any]], None], until_idle: bool, poll_s: float = 1.0) -> None:
    from dbos import DBOS

    reaped = services.sandboxes.reap_orphans()
    engine = launch(services, WORKER)
    dbos = client()
    try:
        pending = dbos.list_workflows(status=["PENDING", "ENQUEUED"])
    finally:
        dbos.destroy()
    others = sorted({w.executor_id for w in pending if w.executor_id and w.executor_id != WORKER})
    if others:
        DBOS._recover_pending_workflows(others)  # take over runs whose process died
    say({"event": "worker", "status": "started", "recovered": len(pending), "reaped": reaped})
    while True:
        records = services.records
        for run in records.active_runs():
            if run["status"] == "queued":
                enqueue(engine, run["id"])  # a no-op for a run whose workflow exists
        woken = wake_decided(services)
        if woken:
            say({"event": "worker", "status": "woke", "runs": woken})
        if until_idle and _idle(services):
            say({"event": "worker", "status": "idle"})
            return
        time.sleep(poll_s)


def _idle(services: RunServices) -> bool:
    """Nothing left to do without a person: every unfinished run waits at a pending review."""
    records = services.records
    waiting_on_people = {item["run_id"] for item in records.list_reviews() if item["status"] == "pending"}
    return all(run["status"] == "waiting" and run["id"] in waiting_on_people for run in records.active_runs())
