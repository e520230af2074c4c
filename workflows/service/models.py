"""The models runs call: one run's `--model` override, and `crewgate models check`'s one call to each model.

`models check` names the database (None: this crewgate home's) only to find a registered
runbook by name; a model string such as openai/gpt-4o opens nothing.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import NotFound
from ..runbook.models import models_used
from ..runbook.models import parse_override as parse_override  # `--model` and `--model-param` of one run
from .database import open_store

if TYPE_CHECKING:
    from agents.check import ModelCheck

    from ..runbook.loader import LoadedRunbook


def check_models(
    database: str | None, target: str, model_params: Sequence[str], timeout_s: float
) -> list["ModelCheck"]:
    """One minimal call to each distinct model of TARGET: a runbook (file, NAME@VERSION, NAME) or a model string."""
    from agents.check import check_model
    from agents.script_file import resolve_scripted

    override = parse_override(None, model_params)
    loaded = _runbook(database, target)
    if loaded is not None:
        folder = loaded.base_dir
        uses = [
            (resolve_scripted(model, folder), params) for model, params in models_used(override.apply(loaded.runbook))
        ]
    else:
        override = parse_override(target, model_params)
        uses = [(str(override.model), override.params)]
    distinct = {json.dumps([model, params], sort_keys=True, default=str): (model, params) for model, params in uses}
    return [check_model(model, params, timeout_s) for model, params in distinct.values()]


def _runbook(database: str | None, target: str) -> "LoadedRunbook | None":
    """The runbook TARGET names (a file, NAME@VERSION or a registered NAME), or None when it names a model."""
    from ..store.runbooks import resolve_runbook

    if Path(target).is_file() or target.endswith((".yaml", ".yml")) or "@" in target:
        with open_store(database) as store:
            return resolve_runbook(target, store, register=False)
    if "/" in target:
        return None
    try:
        with open_store(database) as store:
            return resolve_runbook(target, store, register=False)
    except NotFound:  # not a registered runbook: a bare model name such as gpt-4o
        return None
