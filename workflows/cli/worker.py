"""`crewgate worker`: host queued runs, batches and schedule ticks until stopped (or idle)."""

import click

from ._output import open_services


@click.command()
@click.option(
    "--until-idle", is_flag=True, help="Exit once every unfinished run waits at a pending review (nothing else to do)."
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Runs working at once; a run waiting at a gate frees its slot [default: CREWGATE_WORKER_CONCURRENCY or 2].",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
def worker(until_idle: bool, concurrency: int | None, as_json: bool) -> None:
    """Run queued runs, batches and schedule ticks; take over runs of gone processes; continue decided ones.

    Prints a line per event, with its time: each tick fired, skipped or missed, each run
    it starts, that reaches a gate or ends, each takeover (--json: one object per line).
    Schedules are fired by every worker's scheduler; each tick starts at most one run.
    """
    from ..service.runs import run_worker
    from ._progress import worker_reporter

    run_worker(open_services(), worker_reporter(as_json), until_idle, concurrency)
