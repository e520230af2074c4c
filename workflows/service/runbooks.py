"""Runbooks: validate files, register a version, list and show registered versions, the JSON Schema.

Registering, listing and showing name the database (None: this crewgate home's): the
commands that ask have no run services.
"""

from collections.abc import Sequence
from dataclasses import replace

from executors.errors import BadInput

from ..errors import RunbookError, StoreCorrupt
from ..store.database import RegisteredRunbook
from ..store.runbooks import REF
from ..store.runbooks import REF_PATTERN as REF_PATTERN  # NAME or NAME@VERSION: what the HTTP API accepts
from ..store.runbooks import json_schema_text as json_schema_text  # `runbook schema`
from .database import open_store
from .views import ProblemView, ValidationReport


def validate_files(paths: Sequence[str]) -> list[ValidationReport]:
    """Check each file; a report per file, with every problem's line and column."""
    from ..runbook import load_runbook

    reports = []
    for path in paths:
        try:
            loaded = load_runbook(path)
        except RunbookError as exc:
            problems = tuple(ProblemView(p.line, p.col, p.message, p.path, str(p)) for p in exc.problems)
            reports.append(ValidationReport(path, False, problems))
        else:
            reports.append(ValidationReport(path, True, (), loaded.ref, loaded.sha256))
    return reports


def register_runbook(database: str | None, path: str) -> tuple[RegisteredRunbook, bool]:
    """Validate `path` and register its version; whether it is new. Refused if the version's content changed."""
    from ..runbook import load_runbook

    with open_store(database) as store:
        return store.register_runbook(load_runbook(path))


def list_runbooks(database: str | None) -> list[RegisteredRunbook]:
    with open_store(database) as store:
        return store.list_runbooks()


def show_runbook(database: str | None, reference: str) -> RegisteredRunbook:
    """A registered version by NAME@VERSION, or NAME for its latest, to show.

    Its content has every literal secret (a version registered before they were
    refused may hold one) replaced by "***": it is for reading, not for loading.
    """
    from ..runbook.literal_secrets import redacted_source

    with open_store(database) as store:
        match = REF.match(reference)
        if not match:
            raise BadInput(f"{reference!r} is not NAME or NAME@VERSION (e.g. add-feature@1.0.0)")
        record = store.get_runbook(match[1], match[2])
    try:
        return replace(record, content=redacted_source(record.content))
    except RunbookError as exc:
        raise StoreCorrupt(f"stored runbook {record.ref} is no longer YAML ({exc}): the store was modified") from exc
