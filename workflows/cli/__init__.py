"""The `crewgate` command. Heavy libraries are imported inside commands, never at start."""

import sys

import click

from executors._version import VERSION
from executors.errors import CrewgateError, Exit

from .db import db
from .review import review
from .run import run, worker
from .runbook import runbook
from .runs import runs
from .sandbox import sandbox


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="crewgate")
def cli() -> None:
    """crewgate: versioned runbooks run by AI crews in a hardened sandbox, gated by human review.

    Exit codes: 0 done, 1 failed or rejected, 2 bad input (fix the command, file or id),
    3 environment (Docker unreachable, sandbox image missing), 10 waiting for approval.
    """


for command in (run, runs, review, runbook, sandbox, worker, db):
    cli.add_command(command)


def main() -> None:
    """Console entry point: the one place a crewgate error becomes a message and an exit code."""
    try:
        cli.main(standalone_mode=True)
    except CrewgateError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        sys.exit(Exit.INTERRUPTED)
