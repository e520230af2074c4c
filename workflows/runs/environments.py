"""A run's environment: the image its runbook's `sandbox.setup` makes from the run's base tree.

The recipe (base image id, setup commands, the bytes of the files the setup reads) is all that decides
an environment, so runs, batches and schedules with equal recipes share one image, and a run taken
over on another machine, or replayed, rebuilds the same recipe where the image is missing.
"""

import hashlib
import os
from pathlib import Path, PurePosixPath

from executors.environment import ENV_REPOSITORY, Build, PackageSources, Recipe, tree_file, tree_names
from executors.image import default_image

from ..errors import RunbookError, RunError
from ..runbook.loader import LoadedRunbook, problem_at
from ..store.location import crewgate_home
from .services import RunServices

WHEELHOUSE_VARIABLE = "CREWGATE_WHEELHOUSE"
DEFAULT_INPUTS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements*.txt",
    "constraints*.txt",
    "poetry.lock",
    "uv.lock",
    "Pipfile",
    "Pipfile.lock",
)


def environment_image(
    services: RunServices, loaded: LoadedRunbook, base_image: str, base_image_id: str, base_tree: bytes
) -> tuple[str, str]:
    """(tag, id) of the image a run starts from: the base image, or the environment its setup makes
    from `base_tree` (found here, or built now, with progress)."""
    recipe = recipe_of(loaded, base_image_id, base_tree)
    if recipe is None:
        return base_image, base_image_id
    timeout = loaded.runbook.sandbox.setup_timeout_s
    build = Build(base_image, recipe, base_tree, package_sources, timeout)
    built = services.sandboxes.environment(build, services.progress)
    used_now(recipe.digest)
    return recipe.tag, built


def used_now(digest: str) -> None:
    """Note that a run (or a replay) on this machine starts from the environment: `sandbox envs` shows when."""
    folder = used_folder()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / digest).touch()


def last_used(digest: str) -> float | None:
    """When an environment was last used on this machine (seconds since the epoch), if ever."""
    stamp = used_folder() / digest
    return stamp.stat().st_mtime if stamp.exists() else None


def used_folder() -> Path:
    return crewgate_home() / "environments"


def session_image(services: RunServices, run_id: str, loaded: LoadedRunbook) -> str | None:
    """The image a run's session starts from: its environment (`run_image`), else its runbook's image
    (None: this crewgate's sandbox image, as before environments, so a run waiting across an upgrade goes on)."""
    if is_environment(services.records.run(run_id).image):
        return run_image(services, run_id, loaded)
    return loaded.runbook.sandbox.image


def is_environment(image: str) -> bool:
    return image.startswith(f"{ENV_REPOSITORY}:")


def run_image(services: RunServices, run_id: str, loaded: LoadedRunbook) -> str:
    """The image the run was made with; an environment is rebuilt here from the same recipe when this
    machine does not have it (a takeover, a replay elsewhere)."""
    run = services.records.run(run_id)
    if not is_environment(run.image):
        return run.image
    base_image = loaded.runbook.sandbox.image or default_image()
    base_id = services.sandboxes.pin(base_image)
    tag, _ = environment_image(services, loaded, base_image, base_id, services.blobs.get(run.base_snapshot or ""))
    if tag != run.image:
        raise RunError(
            f"run {run_id} was made in environment {run.image}, but this machine's {base_image} "
            f"({base_id[:19]}) makes {tag}: build the same base image here, or resume the run where it started"
        )
    return tag


def recipe_of(loaded: LoadedRunbook, base_image_id: str, base_tree: bytes) -> Recipe | None:
    """The run's recipe, or None when its runbook has no setup. A `setup_inputs` name (not a glob) that
    is not in the base tree is an error at its place in the runbook."""
    spec = loaded.runbook.sandbox
    if not spec.setup:
        return None
    names = tree_names(base_tree)
    chosen: set[str] = set()
    for index, pattern in enumerate(spec.setup_inputs or DEFAULT_INPUTS):
        matched = _matching(pattern, names)
        if not matched and spec.setup_inputs is not None and not _is_glob(pattern):
            raise _missing_input(loaded, index, pattern)
        chosen.update(matched)
    inputs = tuple((name, hashlib.sha256(tree_file(base_tree, name) or b"").hexdigest()) for name in sorted(chosen))
    return Recipe(base_image_id, tuple(spec.setup), inputs)


def package_sources() -> PackageSources:
    """A wheelhouse (no network at all) when CREWGATE_WHEELHOUSE names one, else the host's pip settings."""
    wheelhouse = os.environ.get(WHEELHOUSE_VARIABLE)
    return PackageSources.wheelhouse(Path(wheelhouse)) if wheelhouse else PackageSources.from_host()


def _matching(pattern: str, names: list[str]) -> list[str]:
    """Names the pattern matches; a pattern without a `/` matches files at the repository's root only."""
    rooted = "/" not in pattern
    return [n for n in names if (not rooted or "/" not in n) and PurePosixPath(n).match(pattern)]


def _is_glob(pattern: str) -> bool:
    return any(mark in pattern for mark in "*?[")


def _missing_input(loaded: LoadedRunbook, index: int, name: str) -> RunbookError:
    message = (
        f"sandbox.setup_inputs names {name!r}, which is not in the run's repository: "
        "name a file that is there (from the repository's root), or use a glob"
    )
    return RunbookError([problem_at(loaded, ("sandbox", "setup_inputs", index), message)])
