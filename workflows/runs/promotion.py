"""Promote steps: apply exactly the approved artifact to its target, once."""

from pathlib import Path

from executors.faults import pause

from ..artifacts.artifact import ArtifactError, read_artifact
from ..errors import PromotionError
from ..runbook.schema import GitTarget, PatchTarget
from ..runbook.templates import render
from ..store.blobs import BlobCorrupt
from ..targets.local import promote_directory, promote_git, promote_patch
from ..targets.remote import promote_git_remote
from .live import LiveRuns
from .results import Promoted
from .variables import template_variables


def promote(
    runs: LiveRuns, run_id: str, step_id: str, artifact_sha256: str, approvers: list[str], approved_at: str
) -> Promoted:
    """Apply the approved artifact; refuse if its stored bytes changed; a re-run finds the first one's ref."""
    records, blobs = runs.services.records, runs.services.blobs
    run = records.run(run_id)
    records.start_step(run_id, step_id, 1, "promote")
    target = runs.runbook(run_id).runbook.step(step_id).promote  # type: ignore[union-attr]
    claim = records.claim_promotion(run_id, artifact_sha256, target.to)
    if claim.status == "done":
        records.finish_step(run_id, step_id, 1, "done", str(claim.ref), {})
        return Promoted(True, ref=str(claim.ref))
    try:
        artifact = read_artifact(blobs.get(artifact_sha256))
    except BlobCorrupt as exc:
        problem = f"artifact {artifact_sha256[:12]} no longer matches its approved sha256 ({exc})"
        return _refused(runs, run_id, step_id, f"{problem}; nothing was promoted")
    except ArtifactError as exc:
        return _refused(runs, run_id, step_id, f"artifact {artifact_sha256[:12]}: {exc}; nothing was promoted")
    variables = template_variables(records, run_id, {})
    try:
        if isinstance(target, GitTarget):
            trailers = (
                f"Crewgate-Run: {run_id}\nCrewgate-Runbook: {run.runbook}@{run.version}\n"
                f"Crewgate-Artifact-SHA256: {artifact_sha256}\n"
                + "".join(f"Approved-by: {name}\n" for name in approvers)
            )
            message = f"crewgate: {run.runbook} run {run_id}\n\n{trailers}"
            branch = render(target.branch, variables)
            if target.remote is not None:
                remote = render(target.remote, variables)
                ref = promote_git_remote(remote, run.commit, branch, artifact, message, approved_at)
            else:
                repo = Path(render(target.repo or "", variables))
                ref = promote_git(repo, run.commit, branch, artifact, message, approved_at)
        elif isinstance(target, PatchTarget):
            ref = promote_patch(Path(render(target.path, variables)), artifact, blobs.get(run.snapshot))
        else:
            ref = promote_directory(Path(render(target.path, variables)), artifact, artifact_sha256)
    except PromotionError as exc:
        records.finish_step(run_id, step_id, 1, "failed", str(exc), {})
        return Promoted(False, error=str(exc))
    pause("during-promotion")  # the target is written but not yet recorded: the hardest moment to crash
    records.finish_promotion(run_id, artifact_sha256, ref)
    records.finish_step(run_id, step_id, 1, "done", ref, {})
    return Promoted(True, ref=ref)


def _refused(runs: LiveRuns, run_id: str, step_id: str, message: str) -> Promoted:
    runs.services.records.finish_step(run_id, step_id, 1, "failed", message, {})
    return Promoted(False, error=message)
