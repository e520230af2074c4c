"""`crewgate worker`: host queued runs, take over interrupted ones, continue decided ones.

With `until_idle` it returns only when no run can move on without a person:
every run that has not ended is waiting at a review that is still pending,
and (for a worker, not `batch start`) no webhook delivery is still being
posted or retried. A run in the middle of a step, queued, or whose review
was decided or has expired keeps it serving, so it never leaves a run
half-done.

The worker claims queued runs (claims.py: of several workers on one database
exactly one gets each run, and a batch's limit holds across them) and starts
them in its own process, at most CREWGATE_WORKER_CONCURRENCY (2) working at
once, and at most a batch's concurrency of that batch's runs. A run waiting at
a gate frees its slot: a cap on the DBOS queue would count it (its workflow is
pending while it waits), so two runs at their gates would keep every later run
queued for as long as their reviews take. The DBOS queue carries only the runs
of gone processes (take_over), at most the taker's free slots at a time. The
scheduler thread (workflows/schedules) queues and fires schedule ticks; the
worker prints a line for each tick, each run it starts, gates and ends, and
each takeover.

`batch start` serves one batch the same way in its own process (`batch=`) and
touches no other run.
"""

import os
import time
from collections.abc import Callable

from .errors import BadInput
from .plain import Event
from .runs.claims import claim_run
from .runs.hosting import launch, start, take_over, wake_decided
from .runs.liveness import alive, worker_executor_id
from .runs.services import RunServices
from .store.batches import Batches
from .store.rows import TERMINAL, RunRecord
from .store.schedules import ScheduleRecords
from .webhooks.delivery import Dispatcher

WORKING = frozenset({"queued", "running"})
BUSY_POLL_S = 0.25


def work(
    services: RunServices,
    say: Callable[[Event], None],
    until_idle: bool,
    limit: int | None = None,
    poll_s: float = 1.0,
    batch: str | None = None,
    progress: Callable[[], None] | None = None,
) -> None:
    """Host runs (or one batch's) until stopped, or with `until_idle` until only people can move them on.

    A worker (not `batch start`) also runs the scheduler (workflows/schedules): the timer
    over every schedule, and the firing of queued ticks.
    """
    from .scheduler.scheduler import Scheduler

    limit = limit or concurrency()  # bad input stops the worker before it starts anything
    reaped = services.sandboxes.reap_orphans()
    executor = f"batch-{batch}-{os.getpid()}" if batch else worker_executor_id()
    workflow = launch(services, executor, serve_queue=batch is None)
    say({"event": "worker", "status": "started", "executor": executor, "reaped": reaped, "concurrency": limit})
    watch = RunWatch(services, say)
    admit = Admission(services, executor, limit, lambda run_id: start(workflow, run_id))
    deliver = Dispatcher(workflow.webhooks)
    schedules = ScheduleRecords(services.store.engine, services.clock)
    scheduler = Scheduler(services, say, executor).start() if batch is None else None
    try:
        while True:
            ticks_waiting = batch is None and schedules.any_queued()  # read before the runs a tick may record
            active = [run for run in services.records.active_runs() if batch is None or run.batch_id == batch]
            watch.started(admit(active))
            if batch is None:
                taken, deliveries = take_over(services, executor, admit.room())  # only of processes that are gone
                if taken:
                    admit.adopt(taken)
                    watch.started(taken, "taken over")
                    say({"event": "worker", "status": "took over", "runs": taken})
                if deliveries:
                    say({"event": "worker", "status": "took over deliveries", "deliveries": deliveries})
            woken = wake_decided(services, {run.id for run in active} if batch else None)
            if woken:
                say({"event": "worker", "status": "woke", "runs": woken})
            watch.look()
            delivering = deliver()  # webhook deliveries recorded since the last look, by any process
            if delivering:
                say({"event": "worker", "status": "delivering", "deliveries": delivering})
            if progress:
                progress()
            if until_idle and not ticks_waiting and _idle(services, active) and (batch or not deliver.pending):
                if batch:  # `batch start` gives its deliveries a moment, then leaves any still retrying to workers
                    deliver.settle()
                say({"event": "worker", "status": "idle"})
                return
            busy = any(run.status in WORKING for run in active)
            time.sleep(min(poll_s, BUSY_POLL_S) if busy else poll_s)  # a slot freed at a gate is refilled quickly
    finally:
        if scheduler is not None:
            scheduler.stop()


class RunWatch:
    """Reports what becomes of the runs this process started or took over: at a gate, continued, ended."""

    def __init__(self, services: RunServices, say: Callable[[Event], None]) -> None:
        self.records = services.records
        self.say = say
        self.status: dict[str, str] = {}

    def started(self, run_ids: list[str], how: str = "started") -> None:
        for run_id in run_ids:
            self.status[run_id] = "queued"
            self.say({"event": "run", "run": run_id, "status": how})

    def look(self) -> None:
        if not self.status:
            return
        for run in self.records.runs_by_id(sorted(self.status)):
            before, now = self.status[run.id], run.status
            if now == before or (before == "queued" and now == "running"):
                self.status[run.id] = now
                continue
            event: Event = {"event": "run", "run": run.id, "status": now}
            if now == "waiting":
                event["message"] = run.message
            elif now in TERMINAL and run.message:
                event["message"] = run.message[-300:]
            self.say(event)
            if now in TERMINAL:
                del self.status[run.id]
            else:
                self.status[run.id] = now


class Admission:
    """Starts queued runs, oldest first, within this process's limit and each batch's concurrency.

    A schedule whose overlap is `skip` or `buffer_one` has one run working at a time: a
    buffered run waits here until the one before it reaches its gate or ends.
    """

    def __init__(self, services: RunServices, executor: str, limit: int, begin: Callable[[str], None]) -> None:
        self.database = services.store.engine
        self.clock = services.clock
        self.executor = executor
        self.batches = Batches(services.store.engine)
        self.schedules = ScheduleRecords(services.store.engine, services.clock)
        self.limit = limit
        self.begin = begin
        self.started: set[str] = set()  # runs started (or taken over) here that are still working

    def room(self) -> int:
        """Slots free in this process."""
        return max(0, self.limit - len(self.started))

    def adopt(self, run_ids: list[str]) -> None:
        """Runs taken over from a gone process work here now: they hold slots like the ones started here."""
        self.started.update(run_ids)

    def __call__(self, active: list[RunRecord]) -> list[str]:
        """Start what may start; the ids started."""
        self.started &= {run.id for run in active if run.status in WORKING}  # waiting or ended: slot free
        caps = self.batches.concurrency({run.batch_id for run in active if run.batch_id})
        in_review: set[str] = set()  # schedules whose runs waiting for review hold the schedule's one slot
        if any(run.schedule and not run.batch_id for run in active):
            for row in self.schedules.all():
                if row.spec.overlap != "allow":
                    caps[f"schedule {row.name}"] = 1
                    if row.spec.while_in_review == "skip":
                        in_review.add(f"schedule {row.name}")
        busy: dict[str, int] = {}
        for run in active:
            group = _group(run)
            working = run.status == "running" or run.id in self.started
            if group and (working or (run.status == "waiting" and group in in_review)):
                busy[group] = busy.get(group, 0) + 1
        begun: list[str] = []
        for run in active:
            if run.status != "queued" or run.id in self.started or len(self.started) >= self.limit:
                continue
            if run.hosted_by and alive(self.database, run.hosted_by):
                continue  # its `crewgate run`, or another worker, is about to start it
            group = _group(run)
            if group and group in caps and busy.get(group, 0) >= caps[group]:
                continue
            if not claim_run(self.database, run, self.executor, caps.get(group) if group else None, self.clock):
                if group:  # another worker claimed it (so it works), or the group is full
                    busy[group] = busy.get(group, 0) + 1
                continue
            self.begin(run.id)  # a no-op for a run whose workflow exists (a gone claimer's: take_over's)
            self.started.add(run.id)
            begun.append(run.id)
            if group:
                busy[group] = busy.get(group, 0) + 1
        return begun


def _group(run: RunRecord) -> str | None:
    """What caps the run's concurrency besides the worker: its batch, else its schedule."""
    if run.batch_id:
        return run.batch_id
    return f"schedule {run.schedule}" if run.schedule else None


def concurrency() -> int:
    """How many runs one worker keeps working at once: CREWGATE_WORKER_CONCURRENCY, default 2."""
    text = os.environ.get("CREWGATE_WORKER_CONCURRENCY", "2")
    if not text.strip().isdigit() or int(text) < 1:
        raise BadInput(f"CREWGATE_WORKER_CONCURRENCY must be a whole number of runs, 1 or more (got {text!r})")
    return int(text)


def _idle(services: RunServices, active: list[RunRecord]) -> bool:
    """Nothing left to do without a person: every unfinished run waits at a pending review."""
    records = services.records
    waiting_on_people = {item.run_id for item in records.reviews_of_waiting_runs() if item.status == "pending"}
    return all(run.status == "waiting" and run.id in waiting_on_people for run in active)
