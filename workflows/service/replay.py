"""`crewgate runs replay`: run a run's recorded code again, in a fresh sandbox, and say where it now differs.

A reviewer's reproducibility check. The sandbox starts from the run's base snapshot
and the run's work steps are done again in their recorded order: each member turn's
code cells as the trace recorded them (the model is not asked: the code is the
record), each check's command, rendered as the run rendered it. A re-run step (a
retry, requested changes, a sandbox lost mid-step) starts again from the workspace
it started from, as it did in the run. Each cell's rendered result is compared with
the recorded one (the `<cell-N>` numbers of tracebacks and durations such as
pytest's "in 0.02s" aside), each check's exit status too (its output holds
timings). At the end, the workspace is built into an artifact the way the gate
builds one and its sha256 compared with the run's newest reviewed artifact.

With `--step`, every step is still replayed (later steps need the state earlier
ones left) but only that step's differences are reported.
"""

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agents.observation import render_result
from executors import ExecutionResult, SandboxLimits
from executors.protocol import Sandbox
from executors.tools import ToolHandler

from ..artifacts.artifact import build_artifact
from ..errors import BadInput, RunError
from ..plain import JsonObject, json_list, json_number, json_object, json_text
from ..runbook.schema import CheckStep, CrewStep, TaskStep
from ..runbook.templates import render
from ..runs.environments import run_image
from ..runs.replies import scope_of
from ..runs.tool_calls import RecordedToolCalls
from ..runs.tools import RunTools
from ..runs.variables import template_variables
from ..runs.work import run_check
from ..store.rows import TraceRecord

if TYPE_CHECKING:
    from ..runs.services import RunServices

CELL_NUMBER = re.compile(r"<cell-\d+>")
# Durations a test runner prints ("5 passed in 0.02s", "Ran 3 tests in 0.001s", "took 12 ms"): not results.
DURATION = re.compile(r"\b(in|took|after|elapsed:?)\s+\d+(?:\.\d+)?\s*(?:s|ms|sec|secs|seconds)\b")
SHOWN = 2000  # characters of each side of a difference kept in the report


@dataclass(frozen=True)
class Difference:
    """One place where replaying the run gave something other than what was recorded."""

    step: str
    attempt: int
    member: str  # "check" for a check step
    turn: int
    block: int  # the cell's number in its turn (1-based); 0 for a check
    recorded: str
    replayed: str


@dataclass(frozen=True)
class ReplayReport:
    run_id: str
    steps: int  # step tries replayed
    cells: int
    checks: int
    differences: tuple[Difference, ...]
    artifact_sha256: str | None  # the run's newest reviewed artifact (None: it never reached a gate)
    replayed_artifact_sha256: str
    same_artifact: bool | None  # None: the run never reached a gate, so there is no artifact to compare
    notes: tuple[str, ...] = field(default_factory=tuple)


def replay_run(
    services: "RunServices", run_id: str, only_step: str | None = None, progress: Callable[[str], None] = print
) -> ReplayReport:
    """Replay run `run_id` in a fresh sandbox of its pinned image; what differs from the record."""
    records, blobs = services.records, services.blobs
    run = records.run(run_id)
    book = services.pinned_runbook(run_id).runbook
    if only_step is not None and only_step not in {step.id for step in book.steps}:
        raise BadInput(f"run {run_id} has no step {only_step!r}: its steps are {', '.join(s.id for s in book.steps)}")
    if not run.base_snapshot:
        raise RunError(f"run {run_id} has no base snapshot: it never started, so there is nothing to replay")
    if run.pruned:
        raise BadInput(
            f"run {run_id} was pruned on {run.pruned.get('at')} (`crewgate runs prune`): its recorded cells and "
            "snapshots are gone, so it cannot be replayed"
        )
    tries = [row for row in records.steps(run_id) if row.kind in ("task", "crew", "check")]
    events = records.trace(run_id)
    spec = book.sandbox
    limits = SandboxLimits(memory=spec.memory, cpus=spec.cpus, pids=spec.pids, timeout_s=spec.timeout_s)
    base = blobs.get(run.base_snapshot)
    differences: list[Difference] = []
    outputs: dict[str, str] = {}
    started_from: dict[str, bytes] = {}
    cells = checks = 0
    image = run_image(services, run_id, services.pinned_runbook(run_id))  # its environment, rebuilt if gone
    image_now = services.sandboxes.pin(image, run.runtime)  # fails closed: Docker, the image or the runtime missing
    scope = [""]  # the step try being replayed: its recorded tool calls answer its cells' calls
    with (
        services.sandboxes.start(f"{run_id}-replay", image, limits, run.runtime) as sandbox,
        _replay_tools(services, run_id, sandbox, lambda: scope[0]) as tools,
    ):
        sandbox.restore(base)
        for row in tries:
            step_id, attempt = row.step_id, row.attempt
            scope[0] = scope_of(step_id, attempt)
            step = book.step(step_id)
            reported = only_step in (None, step_id)
            if step_id in started_from:
                sandbox.restore(started_from[step_id])  # a re-run starts where the step first started
            else:
                started_from[step_id] = sandbox.snapshot()
            progress(f"{step_id} #{attempt}")
            if isinstance(step, CheckStep):
                command = render(step.check, template_variables(records, run_id, outputs))
                ok, _ = run_check(sandbox, command, step.timeout_s)
                checks += 1
                if reported and ok != (row.status == "done"):
                    differences.append(
                        Difference(step_id, attempt, "check", 0, 0, _exit(row.status == "done"), _exit(ok))
                    )
            elif isinstance(step, TaskStep | CrewStep):
                mine = [e for e in events if e.step_id == step_id and e.attempt == attempt]
                for event in mine:
                    if event.data.get("status") == "sandbox_lost":  # the try was discarded and run again
                        sandbox.restore(started_from[step_id])
                        if tools is not None:  # its calls were answered from the record again, from the first
                            tools.start_over(scope[0])
                        continue
                    answers = tools.handler(event.member, event.turn, None) if tools else None
                    found, ran = _replay_turn(sandbox, event, answers)
                    cells += ran
                    if reported:
                        differences.extend(found)
            if row.status == "done":
                outputs[step_id] = row.output
        final = sandbox.snapshot()
    data, _ = build_artifact(base, final, run.base_snapshot)
    reviews = records.reviews_of_run(run_id)
    reviewed = reviews[-1].artifact_sha256 if reviews else None
    replayed = _sha256(data)
    notes: tuple[str, ...] = ()
    if run.image_id and run.image_id != image_now:
        notes = (f"the sandbox image {run.image} is now {image_now[:19]}, the run used {run.image_id[:19]}",)
    return ReplayReport(
        run_id=run_id,
        steps=len(tries),
        cells=cells,
        checks=checks,
        differences=tuple(differences),
        artifact_sha256=reviewed,
        replayed_artifact_sha256=replayed,
        same_artifact=None if reviewed is None else reviewed == replayed,
        notes=notes,
    )


@contextlib.contextmanager
def _replay_tools(
    services: "RunServices", run_id: str, sandbox: Sandbox, scope: Callable[[], str]
) -> Iterator[RunTools | None]:
    """The run's tools defined in the replay's sandbox, every call answered from the run's record (None: no tools)."""
    loaded = services.pinned_runbook(run_id)
    if not (loaded.runbook.tools.python or loaded.runbook.tools.mcp):
        yield None
        return
    calls = RecordedToolCalls(services.store.engine, run_id)
    tools = RunTools.open(run_id, loaded, sandbox, calls, lambda *_: None, scope, replay_only=True)
    try:
        yield tools
    finally:
        tools.close()


def _replay_turn(
    sandbox: Sandbox, event: TraceRecord, tools: ToolHandler | None = None
) -> tuple[list[Difference], int]:
    """Run one recorded turn's cells in order, stopping at the first error as the member did."""
    data = event.data
    recorded = json_list(data.get("results"))
    found: list[Difference] = []
    ran = 0
    for number, code in enumerate(json_list(data.get("code")), start=1):
        result = sandbox.execute(json_text(code), tools=tools)
        ran += 1
        before = _shown(_recorded_result(json_object(recorded[number - 1]))) if number <= len(recorded) else "(not run)"
        after = _shown(result)
        if before != after:
            found.append(
                Difference(
                    event.step_id,
                    event.attempt,
                    event.member,
                    event.turn,
                    number,
                    before[:SHOWN],
                    after[:SHOWN],
                )
            )
        if not result.ok:
            break
    return found, ran


def _recorded_result(recorded: JsonObject) -> ExecutionResult:
    """The cell's result as the member saw it (what was not recorded reads as empty)."""

    def text_or_none(name: str) -> str | None:
        found = recorded.get(name)
        return found if isinstance(found, str) else None

    return ExecutionResult(
        stdout=json_text(recorded.get("stdout")),
        stderr=json_text(recorded.get("stderr")),
        value=text_or_none("value"),
        error=text_or_none("error"),
        traceback=json_text(recorded.get("traceback")),
        timed_out=recorded.get("timed_out") is True,
        truncated=recorded.get("truncated") is True,
        kernel_restarted=recorded.get("kernel_restarted") is True,
        duration_s=json_number(recorded.get("duration_s")),
    )


def _shown(result: ExecutionResult) -> str:
    """What the member read of a cell, without the numbers that only count cells or time."""
    return DURATION.sub(r"\1 <duration>", CELL_NUMBER.sub("<cell>", render_result(result)))


def _exit(ok: bool) -> str:
    return "exit code 0" if ok else "a non-zero exit code"


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
