"""Task, crew and check steps: members (or a shell command) working in the run's sandbox.

A work step ends by snapshotting /workspace into the blob store; the
snapshot's sha256 is how the next step (in this process or, after a crash,
another) knows exactly which workspace to continue from.
"""

from typing import TYPE_CHECKING, Any

from executors import ExecutionResult
from executors.errors import KernelDied, SandboxLost
from executors.protocol import Sandbox

from ..errors import RunError
from ..plain import JsonObject
from ..runbook.schema import CheckStep, CrewStep, TaskStep
from ..runbook.templates import render
from ..visible import clip_tail
from .live import LiveRun, LiveRuns
from .replies import scope_of
from .results import WorkDone
from .variables import template_variables

if TYPE_CHECKING:
    from opentelemetry.context import Context

OUTPUT_LIMIT = 20000
SANDBOX_TRIES = 3


def work(
    runs: LiveRuns,
    run_id: str,
    step_id: str,
    attempt: int,
    snapshot: str,
    outputs: dict[str, str],
    context: str,
    span: "Context | None" = None,
) -> WorkDone:
    """Run a task, crew or check step; return its status, output and new snapshot.

    If the run's container is replaced during the step (killed, out of memory, the
    engine restarted), the workspace the step leaves is not one it produced: the try
    is discarded and the step runs again in a fresh sandbox restored from its
    starting snapshot (its recorded model replies are replayed, not asked again), at
    most SANDBOX_TRIES times; then the run fails naming the loss. `span` is the step's span, its members' parent.
    """
    records = runs.services.records
    step = runs.runbook(run_id).runbook.step(step_id)
    records.start_step(run_id, step_id, attempt, type(step).__name__.removesuffix("Step").lower())
    variables = template_variables(records, run_id, outputs)
    lost = ""
    for _ in range(SANDBOX_TRIES):
        try:
            live = runs.at(run_id, snapshot)
            replacements = live.sandbox.replacements
            ok, output, usage = _perform(live, step, attempt, variables, context, span)
            archive = live.sandbox.snapshot()
            if live.sandbox.replacements == replacements:
                break
            lost = "its container stopped answering and was replaced"
        except KernelDied as exc:
            lost = str(exc)
        runs.close(run_id)  # the next try starts a fresh sandbox from the step's starting snapshot
        runs.refuse_if_cancelled(run_id)  # a container removed by `runs cancel` is not a loss to mend
        records.add_trace(run_id, step_id, attempt, "crewgate", 0, {"status": "sandbox_lost", "note": lost})
    else:
        raise SandboxLost(
            f"run {run_id}, step {step_id}: the sandbox was lost during the step {SANDBOX_TRIES} times ({lost}); "
            "the step's work was discarded and nothing reached the gate. Check the engine (`crewgate sandbox doctor`) "
            "and the runbook's sandbox memory, then start a new run"
        )
    new_snapshot = runs.services.blobs.put(archive)
    live.snapshot = new_snapshot
    status = "done" if ok else "failed"
    output = clip_tail(output, OUTPUT_LIMIT)
    records.finish_step(run_id, step_id, attempt, status, output, usage, new_snapshot)
    return WorkDone(status, output, new_snapshot)


def _perform(
    live: LiveRun, step: Any, attempt: int, variables: JsonObject, context: str, span: "Context | None"
) -> tuple[bool, str, dict[str, object]]:
    """Do the step's work in the live sandbox; return (ok, output, usage)."""
    live.gateway.begin(scope_of(step.id, attempt), span, attempt)  # a re-run try replays its recorded replies first
    live.position = (step.id, attempt)
    if isinstance(step, TaskStep):
        outcome = live.crew.run_task(step.member, render(step.task, variables), context, step.max_turns)
    elif isinstance(step, CrewStep):
        outcome = live.crew.run_crew(render(step.crew, variables), step.process, step.members, context, step.max_rounds)
    elif isinstance(step, CheckStep):
        ok, output = run_check(live.sandbox, render(step.check, variables), step.timeout_s)
        return ok, output, {}
    else:
        raise RunError(f"step {step.id} is not a work step")
    return outcome.ok, outcome.output if outcome.ok else outcome.message, _usage(outcome.usage)


def _usage(usage: Any) -> dict[str, object]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": usage.cost_usd,
        "calls": usage.calls,
        "unpriced_calls": usage.unpriced_calls,
    }


def run_check(sandbox: Sandbox, command: str, timeout: float) -> tuple[bool, str]:
    """Run a shell command in the sandbox's workspace (wherever the crew's code moved to); pass on exit code 0."""
    code = (
        "import subprocess as _cg_subprocess\n"
        f"_cg_subprocess.run({command!r}, shell=True, cwd={sandbox.workdir!r}, stdin=_cg_subprocess.DEVNULL).returncode"
    )
    result: ExecutionResult = sandbox.execute(code, timeout=timeout)
    text = (result.stdout + result.stderr).strip()
    if result.error:
        return False, f"{text}\n{result.traceback}".strip()
    return result.value == "0", f"$ {command}\n{text}\n(exit code {result.value})"
