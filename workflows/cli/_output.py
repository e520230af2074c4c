"""Small helpers shared by commands: JSON output and opening what a command needs."""

import json
from typing import Any

import click


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def open_services() -> Any:
    """This process's run services (database, blobs, Docker sandboxes), built here at the edge."""
    from ..runs.services import open_services as build

    return build()


def open_records() -> Any:
    """The run records of this crewgate home, and nothing else (read commands start fast)."""
    from ..records import Records
    from ..store import Store

    return Records(Store().engine)
