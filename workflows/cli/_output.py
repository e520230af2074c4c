"""Small helpers shared by commands: JSON output and opening what a command needs."""

import json
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # imported by the commands that need them: a listing must not pay for the engine
    from ..service.read_services import Reads
    from ..service.run_services import RunServices

# The database a command without run services names to the service functions: None is this
# crewgate home's (CREWGATE_DATABASE_URL, else SQLite under $CREWGATE_HOME), opened only when needed.
HOME_DATABASE: str | None = None


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def open_services() -> "RunServices":
    """This process's run services (database, blobs, Docker sandboxes), built here at the edge.

    Their spans, if any, are sent when the command ends (`main` then exits without running atexit hooks).
    """
    from ..service.run_services import open_services as build

    services = build()
    if services.telemetry is not None:
        click.get_current_context().call_on_close(services.telemetry.shutdown)
    return services


def open_read_services() -> "Reads":
    """What a read command (`runs list`, `runs show`, `runs trace`, `review list`, `batch list`) needs: a SQLite
    home read without importing SQLAlchemy, else the run services (runs/read_services.py). Closed when it ends."""
    from ..service.read_services import open_read_services as build

    services = build()
    click.get_current_context().call_on_close(services.close)
    return services
