"""The durable run: a DBOS workflow whose steps are checkpointed.

A crashed process's run is recovered by the next process that launches DBOS
with the run's executor id: finished steps return their recorded results
instead of running again, and a run waiting at a gate waits in `DBOS.recv`,
holding no container. The workflow body is replayed on recovery, so it only
decides what to do next; everything with an effect happens in steps.
"""

import os
from typing import Any

from dbos import DBOS, DBOSConfig, SetWorkflowID
from dbos._serialization import DBOSPortableJSON

from executors._version import VERSION

from ..runbook.schema import CheckStep, CrewStep, GateStep, PromoteStep, TaskStep
from ..store import database_url
from . import steps
from .live import runbook_of

APP = "crewgate"
QUEUE = "crewgate-runs"
WAKE_TOPIC = "decision"
POLL_S = float(os.environ.get("CREWGATE_GATE_POLL_S", "3600"))

_launched: list[str] = []


def dbos_config(executor_id: str) -> DBOSConfig:
    return {
        "name": APP,
        "system_database_url": database_url(),
        "application_version": VERSION,  # deliberate: runs waiting across an upgrade stay recoverable
        "executor_id": executor_id,
        "serializer": DBOSPortableJSON,  # JSON, never pickle
        "log_level": os.environ.get("CREWGATE_DBOS_LOG_LEVEL", "WARNING"),
    }


def launch(executor_id: str) -> None:
    """Start DBOS in this process; it recovers the pending runs of `executor_id`."""
    if _launched:
        return
    DBOS(config=dbos_config(executor_id))
    DBOS.launch()
    DBOS.register_queue(QUEUE, worker_concurrency=int(os.environ.get("CREWGATE_WORKER_CONCURRENCY", "2")))
    _launched.append(executor_id)


def start(run_id: str) -> None:
    with SetWorkflowID(run_id):
        DBOS.start_workflow(run_workflow, run_id)


@DBOS.step()
def work_step(run_id: str, step_id: str, attempt: int, snapshot: str, outputs: dict[str, str], context: str) -> Any:
    return steps.work(run_id, step_id, attempt, snapshot, outputs, context)


@DBOS.step()
def gate_step(run_id: str, step_id: str, attempt: int, snapshot: str, evidence: dict[str, Any]) -> Any:
    return steps.open_review(run_id, step_id, attempt, snapshot, evidence)


@DBOS.step()
def decision_step(review_id: str) -> Any:
    return steps.read_decision(review_id)


@DBOS.step()
def promote_step(run_id: str, step_id: str, sha: str, approvers: list[str], approved_at: str) -> Any:
    return steps.promote(run_id, step_id, sha, approvers, approved_at)


@DBOS.step()
def finish_step(run_id: str, status: str, message: str) -> None:
    steps.finish(run_id, status, message)


@DBOS.step()
def begin_step(run_id: str) -> Any:
    steps.env().records.set_run(run_id, status="running", message="")
    return steps.env().records.run(run_id)["base_snapshot"]


@DBOS.workflow()
def run_workflow(run_id: str) -> str:
    try:
        return _run(run_id)
    except Exception as exc:  # infrastructure failure: record it on the run, then let DBOS see it
        finish_step(run_id, "failed", f"{type(exc).__name__}: {exc}")
        raise


def _run(run_id: str) -> str:
    book = runbook_of(run_id).runbook
    position = {step.id: index for index, step in enumerate(book.steps)}
    snapshot = begin_step(run_id)
    outputs: dict[str, str] = {}
    attempts: dict[str, int] = {}
    loops: dict[str, int] = {}
    feedback = ""
    approval: dict[str, Any] = {}
    index = 0
    while index < len(book.steps):
        step = book.steps[index]
        attempt = attempts[step.id] = attempts.get(step.id, 0) + 1
        if isinstance(step, GateStep):
            evidence = {"outputs": outputs}
            review = gate_step(run_id, step.id, attempt, snapshot, evidence)
            decision = _wait(review["review_id"])
            if decision["decision"] == "approved":
                approval = {**review, **decision}
                index += 1
                continue
            if decision["decision"] == "changes_requested":
                target = decision.get("target_step") or _last_work_step(book.steps[:index])
                feedback = f"Reviewer feedback on the change: {decision['message']}"
                index = position[target]
                continue
            finish_step(run_id, "rejected", f"{decision['decision']}: {decision['message']}")
            return "rejected"
        if isinstance(step, PromoteStep):
            result = promote_step(
                run_id, step.id, approval["artifact_sha256"], approval["reviewers"], approval["decided_at"]
            )
            if not result["ok"]:
                finish_step(run_id, "failed", result["error"])
                return "failed"
            outputs[step.id] = result["ref"]
            index += 1
            continue
        context = _context(outputs, feedback)
        result = work_step(run_id, step.id, attempt, snapshot, outputs, context)
        snapshot, outputs[step.id] = result["snapshot"], result["output"]
        if result["status"] == "failed":
            if isinstance(step, CheckStep) and step.on_fail and loops.get(step.id, 0) < step.max_loops:
                loops[step.id] = loops.get(step.id, 0) + 1
                feedback = f"The check `{step.id}` failed:\n{result['output']}"
                index = position[step.on_fail]
                continue
            finish_step(run_id, "failed", f"step {step.id} failed: {result['output'][-500:]}")
            return "failed"
        if isinstance(step, TaskStep | CrewStep):
            feedback = ""
        index += 1
    final = "promoted" if approval and any(isinstance(s, PromoteStep) for s in book.steps) else "completed"
    finish_step(run_id, final, "")
    return final


def _wait(review_id: str) -> dict[str, Any]:
    """Wait durably for the review's outcome; the decision rows are the truth, messages only wake us."""
    while True:
        decided = decision_step(review_id)
        if decided is not None:
            return dict(decided)
        DBOS.recv(topic=f"{WAKE_TOPIC}:{review_id}", timeout_seconds=POLL_S)


def _last_work_step(earlier: list[Any]) -> str:
    return next(step.id for step in reversed(earlier) if isinstance(step, TaskStep | CrewStep))


def _context(outputs: dict[str, str], feedback: str) -> str:
    parts = [f"## {step_id}\n{output}" for step_id, output in outputs.items()]
    if feedback:
        parts.append(f"## Feedback\n{feedback}")
    return "\n\n".join(parts)
