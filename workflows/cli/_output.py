"""Small helpers shared by commands: JSON output and user-facing failures."""

import json
from typing import Any, NoReturn

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


def fail(message: str, code: int) -> NoReturn:
    """Print an actionable error and exit with `code` (1 failed, 2 bad input)."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)
