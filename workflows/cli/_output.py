"""Small helpers shared by commands: JSON output and opening what a command needs."""

import json
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # imported by the commands that need them: a listing must not pay for the engine
    from ..runs.services import RunServices
    from ..store.records import Records


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def open_services() -> "RunServices":
    """This process's run services (database, blobs, Docker sandboxes), built here at the edge.

    Their spans, if any, are sent when the command ends (`main` then exits without running atexit hooks).
    """
    from ..runs.services import open_services as build

    services = build()
    if services.telemetry is not None:
        click.get_current_context().call_on_close(services.telemetry.shutdown)
    return services


def open_records() -> "Records":
    """The run records of this crewgate home, and nothing else (read commands start fast)."""
    from ..store.database import Store
    from ..store.records import Records

    return Records(Store().engine)
