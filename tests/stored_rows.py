"""Rows written straight through `Records`, for tests of what reads them."""

from dataclasses import replace
from typing import Any

from workflows.store.records import Records
from workflows.store.rows import NewRun


def stored_run(records: Records, run_id: str, **fields: Any) -> None:
    """Create a run row as the engine would before its first step; `fields` override the defaults."""
    run = NewRun(
        id=run_id,
        runbook="book",
        version="1.0.0",
        sha256="b" * 64,
        inputs={},
        models={},
        image="img",
        image_id="sha256:img",
        requester="Requester",
        base_commit=None,
        base_snapshot="c" * 64,
        batch_id=None,
        schedule=None,
        hosted_by=None,
        model_override=None,
    )
    records.create_run(replace(run, **fields))
