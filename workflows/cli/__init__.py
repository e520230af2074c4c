"""The `crewgate` command. Heavy libraries are imported inside commands, never at start."""

import sys

import click

from executors._version import VERSION

from .review import review
from .run import run, worker
from .runbook import runbook
from .runs import runs
from .sandbox import sandbox

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_WAITING = 0, 1, 2, 10


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="crewgate")
def cli() -> None:
    """crewgate: versioned runbooks run by AI crews in a hardened sandbox, gated by human review.

    Exit codes: 0 done, 1 failed, 2 bad input, 10 waiting for approval.
    """


for command in (run, runs, review, runbook, sandbox, worker):
    cli.add_command(command)


def main() -> None:
    """Console entry point."""
    try:
        cli.main(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
