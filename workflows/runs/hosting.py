"""Which process hosts which run, and how runs are started, woken and taken over.

`crewgate run` launches DBOS with the executor id `run-<id>`, so it recovers
only its own run; each `crewgate worker` process has its own executor id,
claims queued runs (worker.py) and serves the runs queue, which carries the
runs of gone processes. Every hosting process keeps a
heartbeat (liveness.py). A worker takes over the runs of a process only once that process is gone (no
heartbeat within CREWGATE_HOST_TIMEOUT_S): a live process's runs are never
touched. The command that decides a review wakes the run; if its host is gone
and no worker is alive, it hosts the run itself. Webhook deliveries are DBOS
workflows too (webhooks/delivery.py): workers start them, and a command that
hosted a run starts the ones it recorded before it exits.

Only workers listen to the runs queue: a `crewgate run` or `review approve`
process that dequeued a queued run would abandon it when it exits.

DBOS recovers only workflows of its own application version. That version is
the durable protocol of the run workflow (its steps and their order), not
crewgate's release, so a run left waiting by one release is continued by the
next; a release that changes the protocol bumps WORKFLOW_VERSION.
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from ..plain import Event
from ..store.rows import ReviewRecord
from .follow import follow
from .gate import is_overdue
from .liveness import Heartbeat, alive, any_worker_alive
from .services import RunServices
from .workflow import WAKE_TOPIC, RunWorkflow

APP = "crewgate"
QUEUE = "crewgate-runs"
WORKFLOW_VERSION = "crewgate-runs-2"  # 1 was crewgate 0.1.0's module-level workflow


def dbos_config(executor_id: str, url: str) -> Any:
    """DBOS's settings for this process: its tables live in crewgate's own database (`url`, the store's)."""
    from dbos import DBOSPortableJSONSerializer

    return {
        "name": APP,
        "system_database_url": url,
        "application_version": WORKFLOW_VERSION,
        "executor_id": executor_id,
        "serializer": DBOSPortableJSONSerializer(),  # JSON, never pickle
        "log_level": os.environ.get("CREWGATE_DBOS_LOG_LEVEL", "WARNING"),
    }


def launch(services: RunServices, executor_id: str, serve_queue: bool = False) -> RunWorkflow:
    """Start DBOS in this process with the run workflow on `services`; it recovers the pending runs of `executor_id`.

    Only a worker (`serve_queue`) takes runs from the runs queue.
    """
    from dbos import DBOS

    from .ticks import drop_legacy_timers

    workflow = RunWorkflow(services)  # registered with DBOS before launch, so recovered runs find it
    Heartbeat(services.store.engine, executor_id)
    DBOS(config=dbos_config(executor_id, services.store.url))
    DBOS.listen_queues([QUEUE] if serve_queue else [])
    DBOS.launch()
    DBOS.register_queue(QUEUE)  # no DBOS cap: a run waiting at a gate would hold its slot; the worker admits runs
    if serve_queue:
        drop_legacy_timers()  # schedules are crewgate's own rows now (workflows/schedules)
    return workflow


def start(workflow: RunWorkflow, run_id: str) -> None:
    """Start the run's workflow here (a no-op when it already exists: the run id is the workflow id)."""
    from dbos import DBOS, SetWorkflowID

    with SetWorkflowID(run_id):
        DBOS.start_workflow(workflow.run_workflow, run_id)


def take_over(services: RunServices, own_executor: str, room: int) -> tuple[list[str], list[str]]:
    """Put at most `room` pending runs of gone processes (and all their other workflows, webhook
    deliveries) on the runs queue for a worker; (run ids, other workflow ids).

    `room` is the taker's free slots, so a worker that takes over a dead one's many
    runs starts no more at once than its concurrency; the rest wait for later passes
    (or other workers). DBOS moves a workflow from PENDING to ENQUEUED only if it
    still belongs to the gone executor, and a dequeue admits one runner, so two
    workers taking over the same process start each run once.
    """
    from dbos import DBOS
    from dbos._dbos import _get_dbos_instance

    # DBOS 3.4 has no public call that moves a gone executor's PENDING workflow onto a queue only while it
    # still belongs to that executor (`DBOS.resume_workflow` would also take a live one's): this is the one
    # private call crewgate makes, pinned by the dbos<3.5 range.
    system = _get_dbos_instance()._sys_db
    pending = DBOS.list_workflows(status="PENDING", app_version=WORKFLOW_VERSION, load_input=False, load_output=False)
    gone: dict[str, bool] = {}
    taken: list[str] = []
    others: list[str] = []
    for workflow in pending:
        is_run = "run_workflow" in (workflow.name or "")  # webhook deliveries are short: never held back
        if is_run and len(taken) >= room:
            continue
        executor = workflow.executor_id
        if not executor or executor == own_executor:
            continue
        if executor not in gone:
            gone[executor] = not alive(services.store.engine, executor)
        if gone[executor] and system.reenqueue_for_recovery(workflow.workflow_id, [executor], QUEUE):
            (taken if is_run else others).append(workflow.workflow_id)
    return taken, others


@contextmanager
def client(url: str) -> Iterator[Any]:
    """A DBOS client on the database at `url` for commands that only send, cancel or read (they must not
    recover runs), closed after use."""
    from dbos import DBOS, DBOSClient, DBOSPortableJSONSerializer

    DBOS.migrate(url)  # the client never creates DBOS's tables itself; this is idempotent
    dbos = DBOSClient(system_database_url=url, serializer=DBOSPortableJSONSerializer())
    try:
        yield dbos
    finally:
        dbos.destroy()


def workflow_of(url: str, run_id: str) -> Any | None:
    """The run's workflow status in DBOS, or None if it was never started."""
    with client(url) as dbos:
        found = dbos.list_workflows(workflow_ids=[run_id])
    return found[0] if found else None


def wake(url: str, run_id: str, review_id: str, status: str) -> None:
    """Tell a waiting run its review was decided (idempotent; the decision rows are the truth)."""
    with client(url) as dbos:
        dbos.send(
            run_id,
            {"review": review_id},
            topic=f"{WAKE_TOPIC}:{review_id}",
            idempotency_key=f"wake-{review_id}-{status}",
        )


def wake_decided(services: RunServices, run_ids: str | set[str] | None = None) -> list[str]:
    """Wake every waiting run (or just `run_ids`) whose review is decided or has expired."""
    only = {run_ids} if isinstance(run_ids, str) else run_ids
    records = services.records
    woken = []
    newest: dict[str, ReviewRecord] = {}  # a run waits only on its newest review (older ones led to a re-run)
    for item in records.reviews_of_waiting_runs():
        if item.run_id not in newest or item.created_at > newest[item.run_id].created_at:
            newest[item.run_id] = item
    for item in newest.values():
        if only is not None and item.run_id not in only:
            continue
        if is_overdue(item, services.clock()):
            records.expire(item.id)
            item = replace(item, status="expired")
        if item.status == "pending":
            continue
        wake(services.store.url, item.run_id, item.id, item.status)  # its run was waiting when listed
        woken.append(item.run_id)
    return woken


def host(services: RunServices, run_id: str, say: Callable[[Event], None]) -> int:
    """Continue an existing run in this process and follow it; start it if it was never started."""
    services.records.run(run_id)  # an unknown id is bad input, before anything starts
    wake_decided(services, run_id)
    found = workflow_of(services.store.url, run_id)
    executor = str(found.executor_id) if found and found.executor_id else f"run-{run_id}"
    database = services.store.engine
    if found is not None and (alive(database, executor) or any_worker_alive(database)):
        return follow(services.records, run_id, say, replay=False)  # its live host (or a worker) continues it
    workflow = launch(services, executor, serve_queue=found is not None and found.queue_name == QUEUE)
    if found is None:  # recorded, but its process died before the workflow existed
        start(workflow, run_id)
    code = follow(services.records, run_id, say, replay=found is None)
    _deliver_before_exit(workflow)
    return code


def start_and_follow(services: RunServices, run_id: str, say: Callable[[Event], None]) -> int:
    workflow = launch(services, f"run-{run_id}")
    start(workflow, run_id)
    code = follow(services.records, run_id, say)
    _deliver_before_exit(workflow)
    return code


def _deliver_before_exit(workflow: RunWorkflow) -> None:
    """Post the webhook deliveries the run recorded (its review, its end) before this command exits.

    A receiver still failing after a few seconds is retried by a worker, which takes the delivery over.
    """
    from ..webhooks.delivery import deliver_before_exit

    deliver_before_exit(workflow.webhooks)
