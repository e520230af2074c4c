"""What each kind of step does. The durable workflow calls these as DBOS steps.

Every function takes JSON and returns JSON, so DBOS can checkpoint it. A
work step ends by snapshotting /workspace into the blob store; the snapshot's
sha256 is how the next step (in this process or, after a crash, another)
knows exactly which workspace to continue from.
"""

import datetime
import json
import re
from pathlib import Path
from typing import Any

from agents.script_cursors import CURSORS
from executors import ExecutionResult
from executors.errors import KernelDied, SandboxLost

from ..artifacts import ArtifactError, build_artifact, read_artifact
from ..blobs import BlobCorrupt
from ..errors import PromotionError
from ..faults import pause
from ..promote import promote_directory, promote_git, promote_patch
from ..runbook.schema import CheckStep, CrewStep, DirectoryTarget, GitTarget, PatchTarget, PromoteStep, TaskStep
from ..runbook.templates import render
from ..visible import clip_tail
from .env import env
from .live import LiveRun, close_run, live_run, runbook_of

OUTPUT_LIMIT = 20000
SANDBOX_TRIES = 3
DURATION = re.compile(r"^(\d+)([smhd])$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def template_variables(run_id: str, outputs: dict[str, str]) -> dict[str, Any]:
    run = env().records.run(run_id)
    return {
        "inputs": json.loads(run["inputs"]),
        "steps": {step_id: {"output": output} for step_id, output in outputs.items()},
        "run": {"id": run_id, "runbook": run["runbook"], "version": run["version"], "requester": run["requester"]},
    }


def work(
    run_id: str, step_id: str, attempt: int, snapshot: str, outputs: dict[str, str], context: str
) -> dict[str, Any]:
    """Run a task, crew or check step; return its status, output, usage and new snapshot.

    If the run's container is replaced during the step (killed, out of memory, the
    engine restarted), the workspace the step leaves is not one it produced: the try
    is discarded and the step runs again in a fresh sandbox restored from its
    starting snapshot, at most SANDBOX_TRIES times, then the run fails naming the loss.
    """
    step = runbook_of(run_id).runbook.step(step_id)
    records = env().records
    records.start_step(run_id, step_id, attempt, type(step).__name__.removesuffix("Step").lower())
    variables = template_variables(run_id, outputs)
    lost = ""
    for _ in range(SANDBOX_TRIES):
        try:
            live = live_run(run_id, snapshot)
            replacements = live.sandbox.replacements
            ok, output, usage = _perform(live, step, run_id, attempt, variables, context)
            archive = live.sandbox.snapshot()
            if live.sandbox.replacements == replacements:
                break
            lost = "its container stopped answering and was replaced"
        except KernelDied as exc:
            lost = str(exc)
        close_run(run_id)  # the next try starts a fresh sandbox from the step's starting snapshot
        records.add_trace(run_id, step_id, attempt, "crewgate", 0, {"status": "sandbox_lost", "note": lost})
    else:
        raise SandboxLost(
            f"run {run_id}, step {step_id}: the sandbox was lost during the step {SANDBOX_TRIES} times ({lost}); "
            "the step's work was discarded and nothing reached the gate. Check the engine (`crewgate sandbox doctor`) "
            "and the runbook's sandbox memory, then start a new run"
        )
    new_snapshot = env().blobs.put(archive)
    live.snapshot = new_snapshot
    status = "done" if ok else "failed"
    output = clip_tail(output, OUTPUT_LIMIT)
    records.finish_step(run_id, step_id, attempt, status, output, usage)
    return {"status": status, "output": output, "snapshot": new_snapshot}


def _perform(
    live: LiveRun, step: Any, run_id: str, attempt: int, variables: dict[str, Any], context: str
) -> tuple[bool, str, dict[str, Any]]:
    """Do the step's work in the live sandbox; return (ok, output, usage)."""
    key = f"{run_id}:{step.id}:{attempt}"
    CURSORS.reset(key)  # a step re-run after a crash gets the same scripted replies again
    for member in live.members.values():
        member.script_key = key
    live.position.update(step=step.id, attempt=attempt)
    if isinstance(step, TaskStep):
        outcome = live.crew.run_task(step.member, render(step.task, variables), context, step.max_turns)
    elif isinstance(step, CrewStep):
        outcome = live.crew.run_crew(render(step.crew, variables), step.process, step.members, context, step.max_rounds)
    elif isinstance(step, CheckStep):
        ok, output = _check(live.sandbox.execute, render(step.check, variables), step.timeout_s)
        return ok, output, {}
    else:
        raise ValueError(f"step {step.id} is not a work step")
    return outcome.ok, outcome.output if outcome.ok else outcome.message, _usage(outcome.usage)


def _usage(usage: Any) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": usage.cost_usd,
        "calls": usage.calls,
    }


def _check(execute: Any, command: str, timeout: float) -> tuple[bool, str]:
    """Run a shell command in /workspace inside the sandbox; pass on exit code 0."""
    code = (
        "import subprocess as _cg_subprocess\n"
        f"_cg_subprocess.run({command!r}, shell=True, cwd='/workspace', stdin=_cg_subprocess.DEVNULL).returncode"
    )
    result: ExecutionResult = execute(code, timeout=timeout)
    text = (result.stdout + result.stderr).strip()
    if result.error:
        return False, f"{text}\n{result.traceback}".strip()
    return result.value == "0", f"$ {command}\n{text}\n(exit code {result.value})"


def open_review(run_id: str, step_id: str, attempt: int, snapshot: str, evidence: dict[str, Any]) -> dict[str, Any]:
    """Freeze the workspace into an artifact, open its review item, stop the container.

    The diff and the manifest are not copied into the item: `review show` reads them
    from the artifact itself (verified against its sha256), so what a reviewer sees is
    what promotion applies.
    """
    records, blobs = env().records, env().blobs
    run = records.run(run_id)
    records.start_step(run_id, step_id, attempt, "gate")
    data, artifact = build_artifact(blobs.get(run["base_snapshot"]), blobs.get(snapshot), run["base_snapshot"])
    sha = blobs.put(data)
    book = runbook_of(run_id).runbook
    gate = book.step(step_id).gate  # type: ignore[union-attr]
    review_id = f"{run_id}-{step_id}-{attempt}"
    expires = None
    if gate.expires_after:
        amount, unit = DURATION.match(gate.expires_after).groups()  # type: ignore[union-attr]
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=int(amount) * SECONDS[unit])
    warnings = _promotion_warnings(book.steps, artifact.deleted)
    records.open_review(
        id=review_id,
        run_id=run_id,
        step_id=step_id,
        artifact_sha256=sha,
        policy=json.dumps(gate.model_dump()),
        evidence=json.dumps({**evidence, "warnings": warnings, "trace": f"crewgate runs trace {run_id}"}),
        requester=run["requester"],
        expires_at=expires.isoformat(timespec="seconds") if expires else None,
    )
    records.finish_step(run_id, step_id, attempt, "waiting", f"review {review_id}, artifact sha256 {sha}", {})
    records.set_run(run_id, status="waiting", message=f"waiting for review {review_id}")
    close_run(run_id)  # a waiting run holds no container
    return {"review_id": review_id, "artifact_sha256": sha, "expires_at": expires.isoformat() if expires else None}


def _promotion_warnings(steps: list[Any], deleted: tuple[str, ...]) -> list[str]:
    """What will go wrong at promotion if this artifact is approved, said before anyone approves."""
    return [
        f"step {step.id} promotes to a directory, which cannot delete; this change deletes {len(deleted)} path(s), "
        "so approving it fails that promotion: request changes, or change the runbook's target"
        for step in steps
        if isinstance(step, PromoteStep) and isinstance(step.promote, DirectoryTarget) and deleted
    ]


def read_decision(review_id: str) -> dict[str, Any] | None:
    """The item's outcome once it is decided or expired; None while it is pending."""
    records = env().records
    if is_overdue(records.review(review_id)):
        records.expire(review_id)
    item = records.review(review_id)
    if item["status"] == "pending":
        return None
    attempt = int(review_id.rsplit("-", 1)[1])
    if item["status"] == "expired":
        message = f"review {review_id} expired at {item['expires_at']} without a decision"
        records.finish_step(item["run_id"], item["step_id"], attempt, "expired", message, {})
        return {"decision": "expired", "message": message, "reviewers": []}
    decided = records.decisions(review_id)
    last = decided[-1]
    summary = f"{item['status']} by {', '.join(d.reviewer for d in decided)}"
    records.finish_step(item["run_id"], item["step_id"], attempt, item["status"], summary, {})
    return {
        "decision": item["status"],
        "message": last.message,
        "target_step": last.target_step,
        "reviewers": [d.reviewer for d in decided if d.decision == "approve"],
        "decided_at": last.created_at,
    }


def is_overdue(item: dict[str, Any]) -> bool:
    """A pending item whose `expires_after` has run out."""
    expires = item["expires_at"]
    return bool(
        item["status"] == "pending"
        and expires
        and datetime.datetime.fromisoformat(expires) <= datetime.datetime.now(datetime.UTC)
    )


def promote(run_id: str, step_id: str, artifact_sha256: str, approvers: list[str], approved_at: str) -> dict[str, Any]:
    """Apply exactly the approved artifact once; refuse if its stored bytes changed."""
    records, blobs = env().records, env().blobs
    run = records.run(run_id)
    records.start_step(run_id, step_id, 1, "promote")
    target = runbook_of(run_id).runbook.step(step_id).promote  # type: ignore[union-attr]
    claim = records.claim_promotion(run_id, artifact_sha256, target.to)
    if claim["status"] == "done":
        records.finish_step(run_id, step_id, 1, "done", str(claim["ref"]), {})
        return {"ok": True, "ref": claim["ref"]}
    try:
        artifact = read_artifact(blobs.get(artifact_sha256))
    except BlobCorrupt as exc:
        message = f"artifact {artifact_sha256[:12]} no longer matches its approved sha256 ({exc}); nothing was promoted"
        records.finish_step(run_id, step_id, 1, "failed", message, {})
        return {"ok": False, "error": message}
    except ArtifactError as exc:
        message = f"artifact {artifact_sha256[:12]}: {exc}; nothing was promoted"
        records.finish_step(run_id, step_id, 1, "failed", message, {})
        return {"ok": False, "error": message}
    variables = template_variables(run_id, {})
    try:
        if isinstance(target, GitTarget):
            trailers = (
                f"Crewgate-Run: {run_id}\nCrewgate-Runbook: {run['runbook']}@{run['version']}\n"
                f"Crewgate-Artifact-SHA256: {artifact_sha256}\n"
                + "".join(f"Approved-by: {name}\n" for name in approvers)
            )
            message = f"crewgate: {run['runbook']} run {run_id}\n\n{trailers}"
            repo = Path(render(target.repo, variables))
            ref = promote_git(
                repo, run["base_commit"], render(target.branch, variables), artifact, message, approved_at
            )
        elif isinstance(target, PatchTarget):
            ref = promote_patch(Path(render(target.path, variables)), artifact)
        else:
            ref = promote_directory(Path(render(target.path, variables)), artifact, artifact_sha256)
    except PromotionError as exc:
        records.finish_step(run_id, step_id, 1, "failed", str(exc), {})
        return {"ok": False, "error": str(exc)}
    pause("during-promotion")  # the target is written but not yet recorded: the hardest moment to crash
    records.finish_promotion(run_id, artifact_sha256, ref)
    records.finish_step(run_id, step_id, 1, "done", ref, {})
    return {"ok": True, "ref": ref}


def finish(run_id: str, status: str, message: str) -> None:
    close_run(run_id)
    env().records.set_run(run_id, status=status, message=message)
