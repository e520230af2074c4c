"""Small helpers shared by commands: JSON output and user-facing failures."""

import json
from typing import Any, NoReturn

import click


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def fail(message: str, code: int) -> NoReturn:
    """Print an actionable error and exit with `code` (1 failed, 2 bad input)."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)
