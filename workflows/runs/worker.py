"""`crewgate worker`: host queued runs, take over interrupted ones, continue decided ones.

With `until_idle` it returns only when no run can move on without a person:
every run that has not ended is waiting at a review that is still pending.
A run in the middle of a step, queued, or whose review was decided or has
expired keeps it serving, so it never leaves a run half-done.

The worker starts queued runs itself, at most CREWGATE_WORKER_CONCURRENCY (2)
of them working at once. A run waiting at a gate frees its slot: a cap on the
DBOS queue would count it (its workflow is pending while it waits), so two runs
at their gates would keep every later run queued for as long as their reviews take.
"""

import os
import time
from collections.abc import Callable
from typing import Any

from ..errors import BadInput
from .hosting import client, enqueue, launch, wake_decided
from .services import RunServices

WORKER = "worker"
WORKING = frozenset({"queued", "running"})


def serve(
    services: RunServices,
    say: Callable[[dict[str, Any]], None],
    until_idle: bool,
    limit: int | None = None,
    poll_s: float = 1.0,
) -> None:
    """Host runs until stopped (or, with `until_idle`, until only people can move them on)."""
    from dbos import DBOS

    limit = limit or concurrency()  # bad input stops the worker before it starts anything
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
    started: set[str] = set()  # runs this worker started that are still working (queued or running)
    while True:
        records = services.records
        active = records.active_runs()
        started &= {run["id"] for run in active if run["status"] in WORKING}  # waiting or ended: the slot is free
        for run in active:
            if run["status"] == "queued" and run["id"] not in started and len(started) < limit:
                enqueue(engine, run["id"])  # a no-op for a run whose workflow exists
                started.add(run["id"])
        woken = wake_decided(services)
        if woken:
            say({"event": "worker", "status": "woke", "runs": woken})
        if until_idle and _idle(services):
            say({"event": "worker", "status": "idle"})
            return
        time.sleep(poll_s)


def concurrency() -> int:
    """How many runs one worker keeps working at once: CREWGATE_WORKER_CONCURRENCY, default 2."""
    text = os.environ.get("CREWGATE_WORKER_CONCURRENCY", "2")
    if not text.strip().isdigit() or int(text) < 1:
        raise BadInput(f"CREWGATE_WORKER_CONCURRENCY must be a whole number of runs, 1 or more (got {text!r})")
    return int(text)


def _idle(services: RunServices) -> bool:
    """Nothing left to do without a person: every unfinished run waits at a pending review."""
    records = services.records
    waiting_on_people = {item["run_id"] for item in records.list_reviews() if item["status"] == "pending"}
    return all(run["status"] == "waiting" and run["id"] in waiting_on_people for run in records.active_runs())
