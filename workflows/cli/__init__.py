"""The `crewgate` command. Heavy libraries are imported inside commands, never at start."""

import contextlib
import os
import sys
import traceback

import click

from executors._version import VERSION
from executors.errors import CrewgateError, Exit

from ._display import terminal_safe
from .accounts import tokens, users
from .batch import batch
from .db import db
from .models import models
from .prune import prune
from .replay import replay
from .review import review
from .run import run
from .runbook import runbook
from .runs import runs
from .sandbox import sandbox
from .schedule import schedule
from .serve import serve
from .tools import tools
from .webhooks import webhooks
from .worker import worker
from .workers import workers


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="crewgate")
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the output (a diff, warnings): auto is on a terminal unless NO_COLOR is set.",
)
def cli(color: str) -> None:
    """crewgate: versioned runbooks run by AI crews in a hardened sandbox, gated by human review.

    Exit codes: 0 done, 1 failed or rejected, 2 bad input (fix the command, file or id),
    3 environment (Docker unreachable, sandbox image missing, a model's key missing), 10 waiting for approval.
    """
    no_color = bool(os.environ.get("NO_COLOR"))  # https://no-color.org: any non-empty value
    click.get_current_context().color = {"always": True, "never": False}.get(color, False if no_color else None)


for command in (run, runs, review, runbook, batch, schedule, sandbox, tools, worker, workers, models, db):
    cli.add_command(command)
for command in (users, tokens, webhooks, serve):  # reviewers and services away from this machine
    cli.add_command(command)
runs.add_command(replay)
runs.add_command(prune)


def main() -> None:
    """Console entry point."""
    _leave(invoke())


def invoke(args: list[str] | None = None) -> int | str | None:
    """Run the command line `args` (the process's own by default) to its exit code; the one place a crewgate
    error becomes a message and an exit code. Tests call it in-process for commands that host no run."""
    try:
        cli.main(args=args, prog_name="crewgate", standalone_mode=True)
        return 0
    except SystemExit as exc:
        return exc.code
    except CrewgateError as exc:
        click.echo(f"error: {terminal_safe(str(exc))}", err=True)  # a message may quote a file, a crew, a setup
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except BaseException:
        if "dbos" not in sys.modules:
            raise
        traceback.print_exc()
        return 1


def _leave(code: int | str | None) -> None:
    """Exit with `code`; once DBOS runs here, without joining its threads.

    A run workflow waiting at a gate never returns, so an ordinary exit (after, say,
    a closed pipe on stdout) would wait for it forever; the run's state is already in
    the database, and whoever hosts it next continues it.
    """
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    if "dbos" not in sys.modules:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code or 0)
