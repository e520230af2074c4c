"""`crewgate schedule ...`: cron schedules of registered runbook versions, fired by `crewgate worker`."""

import click

from ._output import emit_json, open_records, open_services


@click.group()
def schedule() -> None:
    """Apply, inspect, pause, trigger and backfill schedules. Workers fire them; nothing runs without one."""


@schedule.command()
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="Print the applied schedules as JSON.")
def apply(reference: str, as_json: bool) -> None:
    """Register the `schedule:` entries of REFERENCE (a file, NAME@VERSION or NAME), replacing its earlier ones."""
    from ..service.schedules import apply_schedules
    from ..service.views import as_json as json_of

    applied, removed = apply_schedules(open_services(), reference)
    if as_json:
        emit_json({"applied": json_of(applied), "removed": removed})
        return
    for view in applied:
        click.echo(f"applied {view.name}: {view.runbook} at '{view.cron}' ({view.timezone}), next {view.next_fire}")
    for name in removed:
        click.echo(f"removed {name} (no longer in the runbook)")
    click.echo("a running `crewgate worker` fires them (see README: Schedules and batches)")


@schedule.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (name, runbook, cron, next/last fire, ...).")
def list_command(as_json: bool) -> None:
    """Every schedule: runbook version, cron, time zone, next and last fire, paused, last run and its status."""
    from ..service.schedules import list_schedules
    from ..service.views import as_json as json_of

    items = list_schedules(open_records().engine)
    if as_json:
        emit_json(json_of(items))
        return
    if not items:
        click.echo("no schedules: add `schedule:` to a runbook and run `crewgate schedule apply RUNBOOK`")
    for item in items:
        state = "paused" if item.paused else f"next {item.next_fire}"
        last = f"last run {item.last_run} ({item.last_run_status})" if item.last_run else "no run yet"
        counts = ", ".join(f"{number} {outcome}" for outcome, number in sorted(item.ticks.items()))
        click.echo(f"{item.name:<24} {item.runbook:<24} '{item.cron}' {item.timezone}  {state}  {last}  [{counts}]")


@schedule.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the schedule and its recent ticks as JSON.")
@click.option("--ticks", "recent", default=20, show_default=True, help="How many recent ticks to show.")
def show(name: str, as_json: bool, recent: int) -> None:
    """A schedule and its recent ticks: started (with the run), skipped (why), missed."""
    from ..service.schedules import show_schedule
    from ..service.views import as_json as json_of

    view = show_schedule(open_records().engine, name, recent)
    if as_json:
        emit_json(json_of(view))
        return
    click.echo(
        f"{view.name}: {view.runbook} at '{view.cron}' ({view.timezone}), overlap {view.overlap}, "
        f"catch_up {view.catch_up}{', paused' if view.paused else ''}"
    )
    click.echo(f"  next fire {view.next_fire}, last fire {view.last_fire}")
    for tick in view.recent:
        what = tick.run or tick.batch or ""
        status = f" ({tick.run_status})" if tick.run_status else ""
        click.echo(f"  {tick.tick_at}  {tick.outcome:<8} {what}{status} {tick.detail}".rstrip())


@schedule.command()
@click.argument("name")
def pause(name: str) -> None:
    """Stop firing NAME until `resume` (its ticks meanwhile are not run)."""
    from ..service.schedules import pause_schedule

    pause_schedule(open_records().engine, name, True)
    click.echo(f"paused {name}")


@schedule.command()
@click.argument("name")
def resume(name: str) -> None:
    """Fire NAME again from its next tick."""
    from ..service.schedules import pause_schedule

    view = pause_schedule(open_records().engine, name, False)
    click.echo(f"resumed {name}: next {view.next_fire}")


@schedule.command()
@click.argument("name")
def trigger(name: str) -> None:
    """Fire NAME now (by its overlap rule); a running worker starts the run."""
    from ..service.schedules import trigger_schedule

    click.echo(f"triggered {name}: tick {trigger_schedule(open_records().engine, name)}")


@schedule.command()
@click.argument("name")
@click.option("--from", "start", required=True, help="ISO time; ticks after it are fired.")
@click.option("--to", "end", required=True, help="ISO time; ticks before it are fired.")
def backfill(name: str, start: str, end: str) -> None:
    """Fire every tick of NAME between --from and --to; a tick already seen starts nothing."""
    from ..service.schedules import backfill_schedule

    fired = backfill_schedule(open_records().engine, name, start, end)
    click.echo(f"backfilled {name}: {len(fired)} tick(s); a running worker starts them")


@schedule.command()
@click.argument("name")
def delete(name: str) -> None:
    """Remove NAME: no more ticks. Its runs and recorded ticks are kept."""
    from ..service.schedules import delete_schedule

    delete_schedule(open_records().engine, name)
    click.echo(f"deleted {name}")
