"""`crewgate sandbox envs`: the environments `sandbox.setup` built on this machine, and pruning them."""

import click

from executors.errors import BadInput

from ..durations import parse_duration
from ._display import terminal_safe
from ._output import emit_json, open_services


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (tag, id, digest, size, last_used_at, ...).")
@click.pass_context
def envs(context: click.Context, as_json: bool) -> None:
    """List the environment images on this machine's engine: hash, size, age, last use, and the unfinished
    runs that start from one. An environment is a runbook's `sandbox.setup` built once per content hash."""
    if context.invoked_subcommand is not None:
        return
    from ..service.environments import environments
    from ..service.views import as_json as json_of

    found = environments(open_services())
    if as_json:
        emit_json(json_of(found))
        return
    if not found:
        click.echo("no environments: a runbook with `sandbox.setup` builds one on its first run")
        return
    click.echo(f"{'HASH':<14} {'SIZE':>8}  {'CREATED':<25} {'LAST USED':<25} {'RUNS':>4}  SETUP")
    for view in found:
        setup = terminal_safe("; ".join(view.commands))[:60]
        click.echo(
            f"{view.digest[:12]:<14} {view.size / 1e6:>6.0f}MB  {view.created_at:<25} "
            f"{view.last_used_at or 'never':<25} {len(view.unfinished_runs):>4}  {setup}"
        )


@envs.command()
@click.option(
    "--unused-for",
    default="0s",
    show_default=True,
    help="Keep environments used more recently than this (e.g. 7d, 12h).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was removed and what was kept, as JSON.")
def prune(unused_for: str, as_json: bool) -> None:
    """Remove environments that no unfinished run starts from (and not used within --unused-for)."""
    from ..service.environments import prune_environments
    from ..service.views import as_json as json_of

    window = parse_duration(unused_for)
    if window is None:
        raise BadInput(f"--unused-for {unused_for!r} is not a duration: write a number and s, m, h or d (7d)")
    report = prune_environments(open_services(), window)
    if as_json:
        kept = [{"environment": json_of(view), "why": why} for view, why in report.kept]
        emit_json({"removed": json_of(list(report.removed)), "kept": kept})
        return
    for view in report.removed:
        click.echo(f"removed {view.tag}")
    for view, why in report.kept:
        click.echo(f"kept    {view.tag}: {terminal_safe(why)}")
    click.echo(f"removed {len(report.removed)} environment(s), kept {len(report.kept)}")
