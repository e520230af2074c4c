"""Finding the runbook a user means: a file path, NAME@VERSION, or NAME (its latest version)."""

import json
import re
from pathlib import Path

from ..errors import RunError
from ..plain import JsonObject
from ..runbook.loader import LoadedRunbook, load_runbook
from ..runbook.schema import Runbook
from .database import Store

REF_PATTERN = r"^([a-z][a-z0-9-]*)(?:@([0-9][0-9A-Za-z.+-]*))?$"  # NAME or NAME@VERSION; also in the OpenAPI
REF = re.compile(REF_PATTERN)  # group 1 the name, group 2 the version (None: the latest)


def resolve_runbook(reference: str, store: Store, register: bool = True) -> LoadedRunbook:
    """Load a runbook file (registering its version unless told not to) or a registered version from the store."""
    path = Path(reference)
    match = REF.match(reference)
    if path.suffix in (".yaml", ".yml") or path.exists() or not match:
        loaded = load_runbook(path)
        if register:
            store.register_runbook(loaded)
        return loaded
    return store.get_runbook(match[1], match[2]).load()


def registered_runbook(reference: str, store: Store) -> LoadedRunbook:
    """A registered version by NAME@VERSION or NAME, never a file: all a caller over HTTP may name."""
    match = REF.match(reference)
    if not match:
        raise RunError(
            f"{reference!r} is not NAME or NAME@VERSION of a registered runbook (see `crewgate runbook list`)"
        )
    return store.get_runbook(match[1], match[2]).load()


def json_schema() -> JsonObject:
    """The JSON Schema of runbooks, generated from the same models that validate them."""
    schema = Runbook.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://crewgate.invalid/schema/runbook.schema.json"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
