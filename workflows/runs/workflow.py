"""The durable run: a DBOS workflow whose steps are checkpointed.

A crashed process's run is recovered by the next process that launches DBOS
with the run's executor id: finished steps return their recorded results
instead of running again, and a run waiting at a gate waits in `DBOS.recv`,
holding no container. The workflow body is replayed on recovery, so it only
decides what to do next; everything with an effect happens in steps.

The engine is a DBOS configured instance: DBOS records its name with each
run and hands the recovered run back to this process's instance, which holds
the services it was built with (no process-global state).
"""

import os
from typing import Any

from dbos import DBOS, DBOSConfiguredInstance
from dbos._error import DBOSWorkflowCancelledError

from ..errors import RunError
from ..plain import Json, JsonObject
from ..runbook.schema import CheckStep, CrewStep, GateStep, PromoteStep, TaskStep
from ..webhooks import run_finished
from ..webhooks.delivery import RetryPolicy, WebhookDelivery
from . import gate, promotion, work
from .live import LiveRuns
from .results import Outcome, Promoted, ReviewOpened, WorkDone
from .services import RunServices
from .spans import RunSpans

INSTANCE = "crewgate"
WAKE_TOPIC = "decision"


@DBOS.dbos_class("RunEngine")  # the name durable runs were recorded under: a rename must not orphan them
class RunWorkflow(DBOSConfiguredInstance):
    """Runs runbooks durably with this process's services. One per process, made before DBOS launches."""

    def __init__(self, services: RunServices) -> None:
        self.services = services
        self.runs = LiveRuns(services)
        self.spans = RunSpans(services.telemetry, services.records)
        # a waiting run looks at its decision this often even if no wake message comes (tests make it short)
        self.gate_poll_s = float(os.environ.get("CREWGATE_GATE_POLL_S", "3600"))
        # the runs' webhook deliveries, posted durably by this process too (registered with DBOS alongside)
        self.webhooks = WebhookDelivery(services.store.engine, RetryPolicy.from_environment())
        super().__init__(config_name=INSTANCE)

    @DBOS.workflow()
    def run_workflow(self, run_id: str) -> str:
        try:
            return self._run(run_id)
        except DBOSWorkflowCancelledError:  # DBOS cancelled the workflow (`runs cancel`): clean up, let DBOS end it
            self._drop(run_id)
            raise
        except Exception as exc:  # infrastructure failure: record it on the run, then let DBOS see it
            if self._cancelled(run_id):  # the cancel ended the run (and DBOS's workflow): only clean up here
                self._drop(run_id)
                return "cancelled"
            self.finish_step(run_id, "failed", f"{type(exc).__name__}: {exc}")
            raise

    def _cancelled(self, run_id: str) -> bool:
        return self.services.records.status_of(run_id) == "cancelled"

    def _drop(self, run_id: str) -> None:
        """A cancelled run's sandbox goes, with any container a try left behind; its trace says where it stopped."""
        step, attempt = self.runs.where(run_id)
        self.runs.close(run_id)
        self.services.sandboxes.reap(run_id)
        self.services.records.close_pending_reviews(run_id, "cancelled")  # one opened as the cancel came
        note = f"stopped here, at step {step}" if step else "stopped before its next step"
        self.services.records.add_trace(run_id, step, attempt, "crewgate", 0, {"status": "cancelled", "note": note})

    @DBOS.step()
    def begin_step(self, run_id: str) -> str:
        records = self.services.records
        records.set_run(run_id, status="running", message="")
        return str(records.run(run_id).base_snapshot)

    @DBOS.step()
    def work_step(
        self, run_id: str, step_id: str, attempt: int, snapshot: str, outputs: dict[str, str], context: str
    ) -> dict[str, Any]:
        with self.spans.step(run_id, step_id, attempt, self._kind(run_id, step_id)) as span:
            done = work.work(self.runs, run_id, step_id, attempt, snapshot, outputs, context, span.context)
            span.set(step_status=done.status)
            span.output(done.output)
        return done.to_json()

    @DBOS.step()
    def gate_step(self, run_id: str, step_id: str, attempt: int, snapshot: str, evidence: JsonObject) -> Any:
        with self.spans.step(run_id, step_id, attempt, "gate") as span:
            opened = gate.open_review(self.runs, run_id, step_id, attempt, snapshot, evidence)
            span.set(review_id=opened.review_id, artifact_sha256=opened.artifact_sha256, step_status="waiting")
        self.spans.waiting(run_id)  # the run may wait for days: its trace has its root meanwhile
        return opened.to_json()

    @DBOS.step()
    def decision_step(self, review_id: str) -> Any:
        outcome = gate.read_outcome(self.services.records, review_id, self.services.clock())
        if outcome is None:
            return None
        self.spans.gate_wait(review_id, outcome.decision, outcome.decided_at)
        return outcome.to_json()

    @DBOS.step()
    def promote_step(self, run_id: str, step_id: str, sha: str, approvers: list[str], approved_at: str) -> Any:
        with self.spans.step(run_id, step_id, 1, "promote") as span:
            span.set(artifact_sha256=sha)
            promoted = promotion.promote(self.runs, run_id, step_id, sha, approvers, approved_at)
            span.set(step_status="done" if promoted.ok else "failed", promotion_ref=promoted.ref or None)
        return promoted.to_json()

    @DBOS.step()
    def finish_step(self, run_id: str, status: str, message: str) -> None:
        self.runs.close(run_id)
        self.services.sandboxes.reap(run_id)  # and any container a crashed process left behind
        run_finished(self.services.records.engine, run_id, status, message)  # recorded before the run shows it ended
        self.spans.finish(run_id, status, message)  # sent before too: a command that sees the end exits at once
        self.services.records.set_run(run_id, status=status, message=message)

    def _run(self, run_id: str) -> str:
        book = self.runs.runbook(run_id).runbook
        position = {step.id: index for index, step in enumerate(book.steps)}
        snapshot = self.begin_step(run_id)
        outputs: dict[str, str] = {}
        attempts: dict[str, int] = {}
        loops: dict[str, int] = {}
        feedback = ""
        approval: tuple[ReviewOpened, Outcome] | None = None
        index = 0
        while index < len(book.steps):
            if self._cancelled(run_id):  # cancelled while queued (no DBOS workflow to cancel yet) or between steps
                self._drop(run_id)
                return "cancelled"
            step = book.steps[index]
            attempt = attempts[step.id] = attempts.get(step.id, 0) + 1
            if isinstance(step, GateStep):
                opened = self.gate_step(run_id, step.id, attempt, snapshot, {"outputs": dict[str, Json](outputs)})
                review = ReviewOpened.from_json(opened)
                outcome = self._wait(review.review_id)
                if outcome.decision == "approved":
                    approval = (review, outcome)
                    index += 1
                elif outcome.decision == "changes_requested":
                    feedback = f"Reviewer feedback on the change: {outcome.message}"
                    index = position[book.changes_step(step.id, outcome.target_step)]
                else:
                    self.finish_step(run_id, "rejected", f"{outcome.decision}: {outcome.message}")
                    return "rejected"
                continue
            if isinstance(step, PromoteStep):
                if approval is None:
                    raise RunError(f"step {step.id} promotes, but no gate before it approved anything")
                review, outcome = approval
                promoted = Promoted.from_json(
                    self.promote_step(run_id, step.id, review.artifact_sha256, outcome.reviewers, outcome.decided_at)
                )
                if not promoted.ok:
                    self.finish_step(run_id, "failed", promoted.error)
                    return "failed"
                outputs[step.id] = promoted.ref
                index += 1
                continue
            done = WorkDone.from_json(
                self.work_step(run_id, step.id, attempt, snapshot, outputs, _context(outputs, feedback))
            )
            snapshot, outputs[step.id] = done.snapshot, done.output
            if done.failed:
                if isinstance(step, CheckStep) and step.on_fail and loops.get(step.id, 0) < step.max_loops:
                    loops[step.id] = loops.get(step.id, 0) + 1
                    feedback = f"The check `{step.id}` failed:\n{done.output}"
                    index = position[step.on_fail]
                    continue
                self.finish_step(run_id, "failed", f"step {step.id} failed: {done.output[-500:]}")
                return "failed"
            if isinstance(step, TaskStep | CrewStep):
                feedback = ""
            index += 1
        final = "promoted" if approval and any(isinstance(s, PromoteStep) for s in book.steps) else "completed"
        self.finish_step(run_id, final, "")
        return final

    def _kind(self, run_id: str, step_id: str) -> str:
        return type(self.runs.runbook(run_id).runbook.step(step_id)).__name__.removesuffix("Step").lower()

    def _wait(self, review_id: str) -> Outcome:
        """Wait durably for the review's outcome; the decision rows are the truth, messages only wake us."""
        while True:
            decided = self.decision_step(review_id)
            if decided is not None:
                return Outcome.from_json(decided)
            DBOS.recv(topic=f"{WAKE_TOPIC}:{review_id}", timeout_seconds=self.gate_poll_s)


def _context(outputs: dict[str, str], feedback: str) -> str:
    parts = [f"## {step_id}\n{output}" for step_id, output in outputs.items()]
    if feedback:
        parts.append(f"## Feedback\n{feedback}")
    return "\n\n".join(parts)
