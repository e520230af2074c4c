"""Gate steps: freeze the workspace into an artifact, open its review item, read its outcome.

The run is reported `waiting` only by `read_outcome`, which the workflow calls
after the gate step's result is checkpointed: a command that sees `waiting`
can stop, and the gate step is never run a second time for the same item.
"""

import datetime
import json
from typing import Any

from ..artifacts.artifact import Artifact, build_artifact
from ..artifacts.change_key import change_key, diff_size
from ..durations import parse_duration
from ..errors import RunCancelled
from ..plain import Json, JsonObject
from ..repo.git import unstorable
from ..runbook.schema import DirectoryTarget, GitTarget, PromoteStep
from ..store.reading import Reader
from ..store.records import Records
from ..store.rows import ReviewRecord
from ..store.tool_calls import list_tool_calls
from ..targets.words import target_words
from ..visible import visible
from ..webhooks import review_created
from .live import LiveRuns
from .results import Outcome, ReviewOpened
from .variables import template_variables


def open_review(
    runs: LiveRuns, run_id: str, step_id: str, attempt: int, snapshot: str, evidence: JsonObject
) -> ReviewOpened:
    """Build the artifact, open its review item (and its `review.created` webhook deliveries), stop the container.

    The diff and the manifest are not copied into the item: `review show` reads them
    from the artifact itself (verified against its sha256), so what a reviewer sees is
    what promotion applies.
    """
    services = runs.services
    records, blobs = services.records, services.blobs
    run = records.run(run_id)
    records.start_step(run_id, step_id, attempt, "gate")
    data, artifact = build_artifact(blobs.get(run.snapshot), blobs.get(snapshot), run.snapshot)
    sha = blobs.put(data)
    book = runs.runbook(run_id).runbook
    gate = book.step(step_id).gate  # type: ignore[union-attr]
    review_id = f"{run_id}-{step_id}-{attempt}"
    expires = None
    if gate.expires_after:
        expires = services.clock() + parse_duration(gate.expires_after)  # type: ignore[operator]  # schema-checked
    warnings = _promotion_warnings(book.steps, artifact.deleted)
    blocked = _unstorable_in_git(book.steps, artifact)
    if blocked:
        shown = ", ".join(visible(path, multiline=False).text for path in blocked[:10])
        warnings.append(
            f"git refuses {len(blocked)} path(s) of this change ({shown}): a git promotion could not hold it as "
            "approved, so approving is refused; request changes (the crew renames them) or reject"
        )
    size = diff_size(artifact.diff)
    opened = records.open_review(
        id=review_id,
        run_id=run_id,
        step_id=step_id,
        artifact_sha256=sha,
        policy=json.dumps(gate.model_dump()),
        evidence=json.dumps(
            {
                **evidence,
                "warnings": warnings,
                "blocked": blocked,
                "tool_calls": _tool_calls(records.reader, run_id),
                "trace": f"crewgate runs trace {run_id}",
            }
        ),
        requester=run.requester,
        expires_at=expires.isoformat(timespec="seconds") if expires else None,
        lines_added=size.added,
        lines_removed=size.removed,
        paths=len(artifact.changes),
        change_key=change_key(artifact.diff),
        target=target_words(book, step_id, template_variables(records, run_id, {}), len(artifact.changes)),
    )
    if not opened:
        runs.close(run_id)
        raise RunCancelled(f"run {run_id} ended while its artifact was being built: no review was opened")
    review_created(records.engine, review_id)  # before the run is `waiting`: whoever sees it wait sees this too
    records.finish_step(run_id, step_id, attempt, "waiting", f"review {review_id}, artifact sha256 {sha}", {})
    runs.close(run_id)  # a waiting run holds no container
    return ReviewOpened(review_id, sha, expires.isoformat() if expires else None)


def _tool_calls(reader: Reader, run_id: str) -> list[Json]:
    """Who called which tool, and how it ended, for the reviewer (arguments and results are in the trace)."""
    return [
        {"step": call.scope, "member": call.member, "tool": call.tool, "outcome": call.outcome}
        for call in list_tool_calls(reader, run_id)
    ]


def _promotion_warnings(steps: list[Any], deleted: tuple[str, ...]) -> list[str]:
    """What will go wrong at promotion if this artifact is approved, said before anyone approves."""
    return [
        f"step {step.id} promotes to a directory, which cannot delete; this change deletes {len(deleted)} path(s), "
        "so approving it fails that promotion: request changes, or change the runbook's target"
        for step in steps
        if isinstance(step, PromoteStep) and isinstance(step.promote, DirectoryTarget) and deleted
    ]


def _unstorable_in_git(steps: list[Any], artifact: Artifact) -> list[str]:
    """The paths a git target would refuse (every case and Windows spelling of .git, by git's own rules)."""
    if not any(isinstance(step, PromoteStep) and isinstance(step.promote, GitTarget) for step in steps):
        return []
    return unstorable({path: artifact.files[path].mode for path in artifact.changed})


def read_outcome(records: Records, review_id: str, now: datetime.datetime) -> Outcome | None:
    """The item's outcome once it is decided or expired; None (and the run `waiting`) while it is pending."""
    item = records.review(review_id)
    if is_overdue(item, now):
        records.expire(review_id)
        item = records.review(review_id)
    if item.status == "cancelled":
        raise RunCancelled(f"run {item.run_id} was cancelled while review {review_id} was pending")
    if item.status == "pending":
        run = records.run(item.run_id)
        if run.status != "waiting":
            records.set_run(item.run_id, status="waiting", message=f"waiting for review {review_id}")
        return None
    attempt = int(review_id.rsplit("-", 1)[1])
    if item.status == "expired":
        message = f"review {review_id} expired at {item.expires_at} without a decision"
        records.finish_step(item.run_id, item.step_id, attempt, "expired", message, {})
        return Outcome("expired", message)
    decided = records.decisions(review_id)
    last = decided[-1]
    summary = f"{item.status} by {', '.join(d.reviewer for d in decided)}"
    records.finish_step(item.run_id, item.step_id, attempt, item.status, summary, {})
    records.set_run(item.run_id, status="running", message="")
    return Outcome(
        decision=item.status,
        message=last.message,
        reviewers=[d.reviewer for d in decided if d.decision == "approve"],
        target_step=last.target_step,
        decided_at=last.created_at,
    )


def is_overdue(item: ReviewRecord, now: datetime.datetime) -> bool:
    """A pending item whose `expires_after` has run out."""
    expires = item.expires_at
    return bool(item.status == "pending" and expires and datetime.datetime.fromisoformat(expires) <= now)
