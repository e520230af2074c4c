"""`crewgate run` and `crewgate worker`."""

import getpass
import os
import sys
from typing import Any

import click

from executors.faults import pause

from ._output import open_services
from ._progress import reporter


def _finish(code: int) -> None:
    """Leave without waiting on DBOS threads (a run waiting at a gate stays waiting in the database)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@click.command()
@click.argument("reference")
@click.option("-i", "--input", "pairs", multiple=True, metavar="NAME=VALUE", help="A runbook input (repeatable).")
@click.option("--requester", default=None, help="Who starts the run [default: your user name].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
@click.option("--detach", is_flag=True, help="Queue the run for `crewgate worker` and return at once.")
def run(reference: str, pairs: tuple[str, ...], requester: str | None, as_json: bool, detach: bool) -> None:
    """Run a runbook: a file path, NAME@VERSION, or NAME (its latest registered version).

    Exit codes: 0 done, 1 failed or rejected, 2 bad input, 3 environment (Docker), 10 waiting at a gate.
    """
    from ..inputs import parse_pairs, resolve_inputs
    from ..runbook.resolve import resolve_runbook
    from ..runs.create import create_run
    from ..runs.hosting import start_and_follow

    services = open_services()
    loaded = resolve_runbook(reference, services.store)
    inputs = resolve_inputs(loaded.runbook, parse_pairs(pairs))
    run_id = create_run(services, loaded, inputs, requester or getpass.getuser())
    if detach:
        click.echo(f"queued run {run_id}; `crewgate worker` runs it, `crewgate runs show {run_id}` follows it")
        return
    if not as_json:
        click.echo(f"run {run_id}: {loaded.ref} (sha256 {loaded.sha256[:12]})")
        _say_base(services.records, run_id, inputs)
    pause("after-record")  # crash tests: a run recorded but never started must still be finished
    _finish(start_and_follow(services, run_id, reporter(as_json)))


def _say_base(records: Any, run_id: str, inputs: dict[str, object]) -> None:
    """Say which tree the run starts from, and that working-tree changes are not part of it."""
    from pathlib import Path

    from ..base import left_out

    base_commit = records.run(run_id)["base_commit"]
    if base_commit is None:
        return
    skipped = left_out(Path(str(inputs["repo"])))
    note = f"; {skipped} uncommitted, untracked or ignored path(s) are left out" if skipped else ""
    click.echo(f"  base: commit {base_commit[:12]} (committed files only{note})")


@click.command()
@click.option(
    "--until-idle", is_flag=True, help="Exit once every unfinished run waits at a pending review (nothing else to do)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
def worker(until_idle: bool, as_json: bool) -> None:
    """Run queued runs, recover interrupted ones (from any process) and continue decided ones; keep serving."""
    from ..runs.worker import serve

    serve(open_services(), reporter(as_json), until_idle)
    _finish(0)
