"""Recording a new run: its pinned runbook, inputs, image and base workspace."""

import uuid
from dataclasses import replace
from pathlib import Path

from executors._tarsafe import pack_directory, pack_files
from executors.environment import SetupFailed
from executors.image import default_image
from executors.runtimes import chosen_runtime

from ..errors import RunError
from ..identity import person_key
from ..plain import JsonObject
from ..repo.base_tree import commit_snapshot, head_commit
from ..runbook.batch_file import BatchRow
from ..runbook.loader import LoadedRunbook
from ..runbook.models import ModelOverride, check_models_usable
from ..runbook.schema import GitTarget, PromoteStep
from ..store.rows import NewBatch, NewRun
from .environments import environment_image
from .services import RunServices

NO_OVERRIDE = ModelOverride()
REPO_INPUT = "repo"
MAX_REPO_BYTES = 64 * 1024 * 1024


def create_run(
    services: RunServices,
    loaded: LoadedRunbook,
    inputs: JsonObject,
    requester: str,
    batch_id: str | None = None,
    schedule: str | None = None,
    run_id: str | None = None,
    hosted_by: str | None = None,
    override: ModelOverride = NO_OVERRIDE,
) -> str:
    """Record a new run, `queued`, pinned to the runbook's exact content; return its id.

    The record is the queue: whichever process hosts runs (`crewgate run`, `runs resume`,
    `crewgate worker`) starts the run's workflow by the run's id, so a run recorded by a
    process that died at once is still started, and never twice. `hosted_by` names the
    process that will run it itself (`crewgate run`): a worker leaves it alone while that
    process is alive.
    """
    run, snapshot = _prepare_base(services, loaded, inputs, requester, batch_id, schedule, run_id, hosted_by, override)
    try:
        run = _in_environment(services, loaded, run, snapshot)
    except SetupFailed as exc:  # the run is recorded as failed before any member works, its setup's log kept
        services.records.create_run(run)
        services.records.set_run(run.id, status="failed", message=str(exc))
        raise
    services.records.create_run(run)
    return run.id


def prepare_run(
    services: RunServices,
    loaded: LoadedRunbook,
    inputs: JsonObject,
    requester: str,
    batch_id: str | None = None,
    schedule: str | None = None,
    run_id: str | None = None,
    hosted_by: str | None = None,
    override: ModelOverride = NO_OVERRIDE,
) -> NewRun:
    """Everything a run's row holds, its base snapshot stored: what `create_run` (or a tick, in its own
    transaction with the overlap check) records. Slow work (the repository, the image) happens here.

    The caller has checked the run's models first (`check_models_usable`: a known provider, its key in
    the environment), once for a run, a batch or a tick, so a run that cannot call them is never recorded.
    A runbook with `sandbox.setup` gets its environment here (found, or built once for every run sharing it)."""
    run, snapshot = _prepare_base(services, loaded, inputs, requester, batch_id, schedule, run_id, hosted_by, override)
    return _in_environment(services, loaded, run, snapshot)


def _in_environment(services: RunServices, loaded: LoadedRunbook, run: NewRun, snapshot: bytes) -> NewRun:
    """The run made in its environment image (the image it records) when its runbook has a setup."""
    image, image_id = environment_image(services, loaded, run.image, run.image_id or "", snapshot)
    return replace(run, image=image, image_id=image_id)


def _prepare_base(
    services: RunServices,
    loaded: LoadedRunbook,
    inputs: JsonObject,
    requester: str,
    batch_id: str | None,
    schedule: str | None,
    run_id: str | None,
    hosted_by: str | None,
    override: ModelOverride,
) -> tuple[NewRun, bytes]:
    """The run's row on the base image, and its base tree (a tar)."""
    book = override.apply(loaded.runbook)
    requester = person_key(requester, "requester")
    run_id = run_id or new_run_id()
    repo = Path(str(inputs[REPO_INPUT])) if REPO_INPUT in inputs else None
    base_commit = None
    if repo is not None:
        if not repo.is_dir():
            raise RunError(f"input repo={repo} is not a folder")
        if (repo / ".git").exists():  # the recorded commit's tree, never the working tree
            base_commit = head_commit(repo)
            snapshot = commit_snapshot(repo, base_commit, MAX_REPO_BYTES)
        else:
            snapshot = pack_directory(repo, "", MAX_REPO_BYTES)
    else:
        snapshot = pack_files({})
    if base_commit is None and any(isinstance(s, PromoteStep) and isinstance(s.promote, GitTarget) for s in book.steps):
        raise RunError(f"{loaded.ref} promotes to git, but input repo={repo} is not a git repository with a commit")
    image = book.sandbox.image or default_image()
    runtime = chosen_runtime(book.sandbox.runtime)
    found = services.sandboxes.pin(image, runtime)  # fails closed before anything is recorded
    models = {name: member.model or book.model for name, member in book.crew.members.items()}
    run = NewRun(
        id=run_id,
        runbook=book.name,
        version=book.version,
        sha256=loaded.sha256,
        inputs=inputs,
        models=models,
        image=image,
        image_id=found,
        requester=requester,
        base_commit=base_commit,
        base_snapshot=services.blobs.put(snapshot),
        batch_id=batch_id,
        schedule=schedule,
        hosted_by=hosted_by,
        model_override=override.to_json(),
        runtime=runtime,
    )
    return run, snapshot


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def prepare_batch(
    services: RunServices,
    loaded: LoadedRunbook,
    rows: list[BatchRow],
    inputs_file: Path,
    concurrency: int,
    requester: str,
    source: str,
    schedule: str | None = None,
) -> NewBatch:
    """Prepare a run per checked row; a row whose repository cannot be read stops it with its line, nothing recorded."""
    batch_id = uuid.uuid4().hex[:12]
    book = loaded.runbook
    check_models_usable(book)  # once, before any repository is read
    prepared = []
    for entry in rows:
        try:
            run = prepare_run(services, loaded, entry.inputs, requester, batch_id=batch_id, schedule=schedule)
        except (RunError, SetupFailed) as exc:
            raise RunError(f"{inputs_file}:{entry.line}: {exc} (nothing of the batch was recorded)") from exc
        prepared.append(run)
    return NewBatch(batch_id, book.name, book.version, concurrency, source, requester, tuple(prepared))
