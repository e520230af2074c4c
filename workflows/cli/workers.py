"""`crewgate workers`: the processes that host runs, their heartbeats, and what each holds."""

import click

from ._output import HOME_DATABASE, emit_json


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (executor_id, kind, alive, hosting, ...).")
@click.option("--all", "everything", is_flag=True, help="Include processes gone for more than 10 minutes.")
def workers(as_json: bool, everything: bool) -> None:
    """Hosting processes (workers, batches, `crewgate run`s) on every machine sharing this database.

    A process is alive while its heartbeat is younger than CREWGATE_HOST_TIMEOUT_S (30 s);
    a gone process's runs are taken over by a live worker. HOSTING lists the runs (and
    schedule ticks) whose workflow it holds.
    """
    from ..service.views import as_json as json_of
    from ..service.workers import list_workers

    found = list_workers(HOME_DATABASE, everything)
    if as_json:
        emit_json(json_of(found))
        return
    if not found:
        click.echo("no hosting processes seen in the last 10 minutes: start one with `crewgate worker`")
        return
    click.echo(f"{'EXECUTOR':<44} {'STATE':<6} {'SEEN':>7}  {'MACHINE':<28} {'PID':>7}  HOSTING")
    for view in found:
        state = "alive" if view.alive else "gone"
        hosting = ", ".join(view.hosting) or "-"
        click.echo(
            f"{view.executor_id:<44} {state:<6} {view.seen_s_ago:>6.1f}s  {view.machine:<28} {view.pid:>7}  {hosting}"
        )
