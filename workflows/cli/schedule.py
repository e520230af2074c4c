"""`crewgate schedule ...`: cron schedules of registered runbook versions, fired by `crewgate worker`."""

import click

from ..plain import json_object
from ._output import emit_json, open_services


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
        state = "paused: `crewgate schedule resume` fires it again" if view.paused else f"next {_when(view)}"
        click.echo(f"applied {view.name}: {view.runbook} at '{view.cron}' ({view.timezone}), {state}")
    for name in removed:
        click.echo(f"removed {name} (no longer in the runbook)")
    click.echo("a running `crewgate worker` fires them (see README: Schedules and batches)")


@schedule.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (name, runbook, cron, next/last fire, ...).")
def list_command(as_json: bool) -> None:
    """Every schedule: runbook version, cron, time zone, next fire, state, last run, tick totals."""
    from ..service.schedules import list_schedules
    from ..service.views import as_json as json_of

    items = list_schedules(open_services())
    if as_json:
        emit_json(json_of(items))
        return
    if not items:
        click.echo("no schedules: add `schedule:` to a runbook and run `crewgate schedule apply RUNBOOK`")
        return
    click.echo(f"{'NAME':<24} {'RUNBOOK':<24} {'CRON':<18} {'ZONE':<16} {'STATE':<27} {'LAST RUN':<24} TICKS")
    for item in items:
        state = "BROKEN" if item.broken else "paused" if item.paused else f"next {item.next_fire or '-'}"
        last = f"{item.last_run} ({item.last_run_status})" if item.last_run else "-"
        click.echo(
            f"{item.name:<24} {item.runbook:<24} {item.cron:<18} {item.timezone:<16} {state:<27} {last:<24} "
            f"{_counts(item.ticks)}"
        )
    for item in items:
        if item.broken:
            click.echo(f"{item.name} is broken: {item.broken}", err=True)


@schedule.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the schedule and its recent ticks as JSON.")
@click.option("--ticks", "recent", default=20, show_default=True, type=click.IntRange(min=0), help="Recent ticks.")
def show(name: str, as_json: bool, recent: int) -> None:
    """A schedule, its next fire times and its recent ticks (queued, started, skipped, failed, missed)."""
    from ..service.schedules import show_schedule
    from ..service.views import as_json as json_of

    view = show_schedule(open_services(), name, recent)
    if as_json:
        emit_json(json_of(view))
        return
    click.echo(f"{view.name}: {view.runbook} at '{view.cron}' ({view.timezone}): {view.cron_words}")
    jitter = view.jitter or "auto (a tenth of the interval, at most 10s)"
    catch_up = view.catch_up + (f", window {view.catch_up_window}" if view.catch_up == "all" else "")
    click.echo(
        f"  overlap {view.overlap}, while_in_review {view.while_in_review}, catch_up {catch_up}, jitter {jitter}"
    )
    if view.broken:
        click.echo(f"  BROKEN: {view.broken}")
    elif view.paused:
        click.echo("  paused: `crewgate schedule resume` fires it again from its next tick")
    click.echo("  next fires:" if view.next_fires else "  next fires: none")
    for utc, local in view.next_fires:
        click.echo(f"    {local}  ({utc})")
    last_run = f"{view.last_run} ({view.last_run_status})" if view.last_run else "none"
    click.echo(f"  last fire {view.last_fire or 'none'}, last run {last_run}")
    click.echo(f"  ticks: {_counts(view.ticks)}")
    for tick in view.recent:
        if tick.outcome == "missed":
            what = f"{tick.count} tick(s) from {tick.first} to {tick.at}: {tick.detail}"
            click.echo(f"    {tick.local}  ({tick.at})  {'cron':<8} {'missed':<8} {what}")
            continue
        run = tick.run or tick.batch or ""
        status = f" ({tick.run_status})" if tick.run_status else ""
        line = f"    {tick.local}  ({tick.at})  {tick.kind:<8} {tick.outcome:<8} {run}{status} {tick.detail}"
        click.echo(line.rstrip())


@schedule.command()
@click.argument("name")
def pause(name: str) -> None:
    """Stop firing NAME until `resume`: its ticks meanwhile start nothing and are never caught up."""
    from ..service.schedules import pause_schedule

    pause_schedule(open_services(), name, True)
    click.echo(f"paused {name}: no tick starts anything until `crewgate schedule resume {name}`")


@schedule.command()
@click.argument("name")
def resume(name: str) -> None:
    """Fire NAME again from its next tick (paused time is not caught up: `backfill` can)."""
    from ..service.schedules import pause_schedule

    view = pause_schedule(open_services(), name, False)
    click.echo(f"resumed {name}: next {_when(view)}")


@schedule.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the queued tick as JSON.")
def trigger(name: str, as_json: bool) -> None:
    """Fire NAME now, by its overlap rule (even while paused); the tick waits for a worker."""
    from ..service.schedules import trigger_schedule

    triggered = trigger_schedule(open_services(), name)
    if as_json:
        emit_json({"schedule": triggered.schedule, "tick_at": triggered.tick_at, "tick": triggered.tick})
        return
    click.echo(f"triggered {name}: tick {triggered.tick} is queued; a running `crewgate worker` starts it")


@schedule.command()
@click.argument("name")
@click.option("--from", "start", required=True, help="ISO time; ticks at or after it.")
@click.option("--to", "end", required=True, help="ISO time; ticks before it (at most now: only past ticks).")
@click.option(
    "--max", "most", default=1000, show_default=True, type=int, help="Refuse a range of more ticks than this."
)
@click.option("--dry-run", is_flag=True, help="List the ticks and what each would do; queue nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the ticks and the counts as JSON.")
def backfill(name: str, start: str, end: str, most: int, dry_run: bool, as_json: bool) -> None:
    """Run the past ticks of NAME between --from and --to that have not run (missed, or never seen).

    The ticks are counted before anything is queued; more than --max is refused. Ticks
    already started, skipped or failed start nothing. Workers fire the queued ticks
    by the schedule's overlap rule (use `overlap: allow` to run them all).
    """
    from ..service.schedules import backfill_schedule
    from ..service.views import as_json as json_of

    done = backfill_schedule(open_services(), name, start, end, most, dry_run)
    if as_json:
        emit_json({**json_object(json_of(done)), "dry_run": dry_run})
        return
    click.echo(f"{done.count} tick(s) of {name} from {done.start} to {done.end}; {done.to_run} not run yet")
    if done.clipped:
        click.echo("  --to is in the future: backfill stops at now; later ticks fire on time")
    if dry_run:
        for tick in done.ticks:
            verb = "would run" if tick.state in ("missed", "unseen") else "nothing (already recorded)"
            click.echo(f"  {tick.at}  {tick.state:<8} {verb}")
        click.echo("dry run: nothing was queued")
        return
    click.echo(f"backfilled {name}: {done.queued} tick(s) queued; a running `crewgate worker` starts them")


@schedule.command()
@click.argument("name")
def delete(name: str) -> None:
    """Remove NAME: no more ticks. Its runs and recorded ticks are kept; queued ticks start nothing."""
    from ..service.schedules import delete_schedule

    delete_schedule(open_services(), name)
    click.echo(f"deleted {name}")


def _counts(ticks: dict[str, int]) -> str:
    return ", ".join(f"{number} {outcome}" for outcome, number in sorted(ticks.items())) or "none yet"


def _when(view: object) -> str:
    fires = getattr(view, "next_fires", ())
    return f"{fires[0][1]} ({fires[0][0]})" if fires else "never"
