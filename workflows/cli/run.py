"""`crewgate run`: record a run and host it here (or queue it for a worker)."""

import getpass
import json
import sys

import click

from executors.faults import pause

from ._output import open_services
from ._progress import reporter


@click.command()
@click.argument("reference")
@click.option("-i", "--input", "pairs", multiple=True, metavar="NAME=VALUE", help="A runbook input (repeatable).")
@click.option("--requester", default=None, help="Who starts the run [default: your user name].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
@click.option("--detach", is_flag=True, help="Queue the run for `crewgate worker` and return at once.")
@click.option(
    "--model",
    default=None,
    metavar="MODEL",
    help="Call this litellm model (e.g. openai/gpt-4o-mini) for every member of this run; recorded with the run.",
)
@click.option(
    "--model-param",
    "model_params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A litellm param for this run's models, over the runbook's (e.g. api_base=http://127.0.0.1:8000/v1, "
    "temperature=0; repeatable). Never a key: keys come from the environment.",
)
def run(
    reference: str,
    pairs: tuple[str, ...],
    requester: str | None,
    as_json: bool,
    detach: bool,
    model: str | None,
    model_params: tuple[str, ...],
) -> None:
    """Run a runbook: a file path, NAME@VERSION, or NAME (its latest registered version).

    Every model the run calls is checked first: a provider litellm knows (exit 2 if not) and its key
    in the environment (exit 3 naming the variable if not); nothing is recorded until both hold.

    Exit codes: 0 done, 1 failed or rejected, 2 bad input, 3 environment (Docker, model keys), 10 waiting at a gate.
    """
    from ..service.models import parse_override
    from ..service.runs import follow_new_run, start_run

    override = parse_override(model, model_params)
    services = open_services()
    requester = requester or getpass.getuser()
    started = start_run(services, reference, pairs, requester, host_here=not detach, override=override)
    if detach:
        if as_json:
            queued = {"event": "run", "run": started.run_id, "status": "queued", "runbook": started.runbook}
            click.echo(json.dumps({**queued, "runbook_sha256": started.runbook_sha256}))
        else:
            run_id = started.run_id
            click.echo(f"queued run {run_id}; `crewgate worker` runs it, `crewgate runs show {run_id}` follows it")
        return
    if not as_json:
        click.echo(f"run {started.run_id}: {started.runbook} (sha256 {started.runbook_sha256[:12]})")
        if started.base_commit:
            note = (
                f"; {started.left_out} uncommitted, untracked or ignored path(s) are left out"
                if started.left_out
                else ""
            )
            click.echo(f"  base: commit {started.base_commit[:12]} (committed files only{note})")
        if override:
            click.echo(f"  models: {override.describe()} (this run only)")
    pause("after-record")  # crash tests: a run recorded but never started must still be finished
    sys.exit(follow_new_run(services, started.run_id, reporter(as_json)))  # `main` leaves without DBOS's threads
