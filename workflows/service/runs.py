"""Runs as a user or a web page asks for them: start, list, show, trace, cancel, continue.

Reading functions take `Reads` (runs/read_services.py: a read command reads a SQLite
database without SQLAlchemy; any `RunServices` will do too); the ones that start or
stop work take the process's `RunServices`.
"""

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RunError
from ..plain import Event
from ..store.costs import Cost, costs_of_runs, run_costs
from ..store.cursors import Page, page_size
from ..store.reads import promotions_of_run, read_run, runs_page, steps_of_run, trace_of_run
from ..store.reads import reviews_of_run as run_reviews
from ..store.rows import TERMINAL as TERMINAL  # the statuses of an ended run, for a page that stops polling
from ..store.rows import ReviewRecord, RunRecord, StepRecord
from ..store.tool_calls import list_tool_calls
from .verdicts import verdict_line
from .views import PromotionView, RunSummary, RunView, StartedRun, StepView, TraceEntry

if TYPE_CHECKING:  # the engine's services are imported only by the commands that run work
    from ..runbook.models import ModelOverride
    from ..runs.read_services import Reads
    from ..runs.services import RunServices

Report = Callable[[Event], None]
HOST_STOP_S = 3.0  # how long `runs cancel` waits for a running run's host to stop it before removing its containers


def list_runs(services: "Reads", limit: int | None = None, cursor: str | None = None) -> Page[RunSummary]:
    """A page of runs, newest first (DEFAULT_PAGE of them unless `limit` says), after `cursor` if given."""
    found = runs_page(services.reader, page_size(limit), cursor)
    costs = costs_of_runs(services.reader, (r.id for r in found.items))
    return Page(
        [
            RunSummary(
                r.id,
                f"{r.runbook}@{r.version}",
                r.status,
                r.requester,
                r.created_at,
                costs.get(r.id, Cost()).cost_usd,
            )
            for r in found.items
        ],
        found.next_cursor,
    )


def show_run(services: "Reads", run_id: str) -> RunView:
    """A run, its steps and its promotion (NotFound for an unknown id)."""
    reader = services.reader
    run = read_run(reader, run_id)
    done = [p for p in promotions_of_run(reader, run_id) if p.status == "done"]
    costs = run_costs(reader, run_id)
    calls = list_tool_calls(reader, run_id)
    steps = tuple(
        _step_view(row, costs.by_step.get(f"{row.step_id}#{row.attempt}", Cost()))
        for row in steps_of_run(reader, run_id)
    )
    return RunView(
        id=run.id,
        status=run.status,
        message=run.message,
        runbook=f"{run.runbook}@{run.version}",
        runbook_sha256=run.sha256,
        inputs=run.inputs,
        models=run.models,
        model_override=json.loads(run.model_override) if run.model_override else None,
        image=run.image,
        image_id=run.image_id,
        requester=run.requester,
        base_commit=run.base_commit,
        created_at=run.created_at,
        updated_at=run.updated_at,
        steps=steps,
        promotion=PromotionView(done[0].target, done[0].ref or "", done[0].artifact_sha256) if done else None,
        batch=run.batch_id,
        schedule=run.schedule,
        cost_usd=costs.total.cost_usd,
        model_calls=costs.total.calls,
        unpriced_calls=costs.total.unpriced_calls,
        tool_calls=len(calls),
        tool_calls_refused=sum(call.outcome == "refused" for call in calls),
        cost_by_member={member: cost.cost_usd for member, cost in sorted(costs.by_member.items())},
        continues=_continues(reviews_of_run(services, run_id), run),
        runtime=run.runtime,
        pruned=run.pruned,
    )


def _continues(items: list[ReviewRecord], run: RunRecord) -> str:
    """For a run waiting at a gate whose item is already decided: that only a worker moves it on now."""
    if run.status != "waiting" or not items or any(item.status == "pending" for item in items):
        return ""
    last = items[-1]
    return (
        f"review {last.id} is decided ({last.status.replace('_', ' ')}); a worker will continue the run: "
        f"`crewgate worker`, or `crewgate runs resume {run.id}` here"
    )


def _step_view(row: StepRecord, cost: Cost) -> StepView:
    return StepView(
        row.step_id,
        row.attempt,
        row.kind,
        row.status,
        row.output,
        row.usage,
        row.started_at,
        row.finished_at,
        cost.cost_usd,
        cost.unpriced_calls,
        verdict_line(row.output),
        cost.tokens,
    )


def run_trace(services: "Reads", run_id: str) -> list[TraceEntry]:
    """Every member turn of a run, in order (NotFound for an unknown id)."""
    read_run(services.reader, run_id)
    return [
        TraceEntry(e.id, e.run_id, e.step_id, e.attempt, e.member, e.turn, e.data, e.created_at)
        for e in trace_of_run(services.reader, run_id)
    ]


def pruned_at(services: "Reads", run_id: str) -> str:
    """When `runs prune` removed the run's trace ('' if it did not)."""
    pruned = read_run(services.reader, run_id).pruned
    return str(pruned.get("at", "")) if pruned else ""


def start_run(
    services: "RunServices",
    reference: str,
    pairs: Sequence[str],
    requester: str,
    host_here: bool = False,
    registered_only: bool = False,
    override: "ModelOverride | None" = None,
) -> StartedRun:
    """Record a run of `reference` (a file, NAME@VERSION or NAME) with `NAME=VALUE` inputs; it is then queued.

    Nothing executes yet: a host (`follow_new_run`, `continue_run` or a worker) starts it by its id.
    With `host_here` this process will (`follow_new_run`): its heartbeat starts before the run is
    recorded, so a worker never takes the run while this process lives. `registered_only` (the
    HTTP API) accepts NAME@VERSION or NAME only, never a path on this machine. `override` replaces
    the runbook's models for this run only (`crewgate run --model`), and is recorded with it.
    """
    from ..repo.base_tree import left_out
    from ..runbook.inputs import parse_pairs, resolve_inputs
    from ..runbook.models import ModelOverride, check_models_usable
    from ..runs.create import create_run, new_run_id
    from ..runs.liveness import Heartbeat
    from ..runs.tools import check_servers_start
    from ..store.runbooks import registered_runbook, resolve_runbook

    if registered_only:
        loaded = registered_runbook(reference, services.store)
    else:
        loaded = resolve_runbook(reference, services.store, register=False)
    inputs = resolve_inputs(loaded.runbook, parse_pairs(tuple(pairs)))
    override = override or ModelOverride()
    check_models_usable(override.apply(loaded.runbook))  # before anything is written: the runbook, a heartbeat
    check_servers_start(loaded)  # its MCP servers start and have the tools its allow-lists name
    services.store.register_runbook(loaded)  # a file's version; the same content again is a no-op
    run_id, host = new_run_id(), None
    if host_here:
        host = f"run-{run_id}"
        Heartbeat(services.store.engine, host)
    run_id = create_run(services, loaded, inputs, requester, run_id=run_id, hosted_by=host, override=override)
    base_commit = services.records.run(run_id).base_commit
    skipped = left_out(Path(str(inputs["repo"]))) if base_commit else 0
    return StartedRun(run_id, loaded.ref, loaded.sha256, base_commit, skipped)


def follow_new_run(services: "RunServices", run_id: str, report: Report) -> int:
    """Host a just-recorded run in this process until it ends or waits; its exit code."""
    from ..runs.hosting import start_and_follow

    return start_and_follow(services, run_id, report)


def continue_run(services: "RunServices", run_id: str, report: Report) -> int:
    """Continue an interrupted or decided run here (finished steps are not run again); its exit code."""
    from ..runs.hosting import host

    return host(services, run_id, report)


def cancel_run(services: "RunServices", run_id: str) -> RunView:
    """End a run as cancelled: nothing of it starts or is spent after this returns.

    The run and its pending reviews are closed in one transaction (a queued run is
    never started; its reviews leave the queue as `cancelled`). The process hosting it
    sees that within a second: its running cell is killed, its model calls refused,
    its containers removed; here, its containers on this machine are removed at once.
    RunError if it already ended.
    """
    run = services.records.run(run_id)
    if run.status in TERMINAL or not cancel_runs(services, [run_id], "cancelled by request"):
        ended = services.records.run(run_id).status
        raise RunError(f"run {run_id} already ended ({ended}): there is nothing to cancel")
    return show_run(services, run_id)


def cancel_runs(services: "RunServices", run_ids: list[str], message: str) -> list[str]:
    """Cancel every run of `run_ids` that has not ended (all recorded first, so none starts meanwhile); the ids."""
    from ..runs.hosting import client
    from ..runs.spans import RunSpans
    from ..webhooks import run_finished

    cancelled, running = services.records.cancel(run_ids, message)
    _wait_for_hosts(services, running)
    for run_id in cancelled:  # what a host that is gone (or slow) left behind
        services.sandboxes.reap(run_id)
    if cancelled:
        with client(services.store.url) as dbos:
            for run_id in cancelled:
                dbos.cancel_workflow(run_id)
    spans = RunSpans(services.telemetry, services.records)
    for run_id in cancelled:
        run_finished(services.records.engine, run_id, "cancelled", message)
        spans.finish(run_id, "cancelled", message)
    return cancelled


def _wait_for_hosts(services: "RunServices", run_ids: list[str]) -> None:
    """Give the processes running these runs a moment to stop their cells and remove their own containers.

    Each host's watch sees the cancel within half a second and records where the run
    stopped; removing a container under a host that has not seen the cancel yet would
    only make it start a fresh one.
    """
    deadline = time.monotonic() + HOST_STOP_S
    waiting = set(run_ids)
    while waiting and time.monotonic() < deadline:
        waiting -= set(services.records.stopped_runs(sorted(waiting)))
        if waiting:
            time.sleep(0.1)


def run_worker(
    services: "RunServices",
    report: Report,
    until_idle: bool,
    concurrency: int | None = None,
    batch: str | None = None,
    progress: Callable[[], None] | None = None,
) -> None:
    """Be a worker: run queued runs (`concurrency` working at once), recover interrupted ones, continue decided ones.

    With `batch`, serve only that batch's runs (`batch start`), calling `progress` after each look.
    """
    from ..worker import work

    work(services, report, until_idle, concurrency, batch=batch, progress=progress)


def reviews_of_run(services: "Reads", run_id: str) -> list[ReviewRecord]:
    """The run's review items, oldest first (the run page lists them)."""
    return run_reviews(services.reader, run_id)
