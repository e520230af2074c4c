"""`crewgate runs ...`: list, show, trace, cancel and resume runs."""

import json
import sys
from pathlib import Path

import click

from ..plain import JsonObject, json_object
from ..visible import display_lines
from ._display import one_line, quoted, terminal_safe
from ._output import emit_json, open_read_services, open_services
from ._progress import reporter
from ._table import echo_table, next_page


@click.group()
def runs() -> None:
    """Inspect and manage runs."""


@runs.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--limit", type=int, default=None, help="Runs on a page [default: 50, at most 1000].")
@click.option("--after", "cursor", metavar="CURSOR", help="The page after the one that printed this cursor.")
def list_command(as_json: bool, limit: int | None, cursor: str | None) -> None:
    """Runs, newest first, a page at a time (the command for the next page is printed after each)."""
    from ..service.runs import list_runs
    from ..service.views import as_json as json_of

    page = list_runs(open_read_services(), limit, cursor)
    items = page.items
    if as_json:
        emit_json(json_of(items))
    elif not items:
        click.echo("no runs yet: start one with `crewgate run RUNBOOK`" if cursor is None else "no more runs")
    else:
        rows = [
            (item.id, item.status, item.runbook, item.requester, f"${item.cost_usd:.4f}", item.created_at)
            for item in items
        ]
        echo_table(("RUN", "STATUS", "RUNBOOK", "REQUESTER", "COST", "CREATED"), rows, right=("COST",))
    next_page(page.next_cursor, "crewgate runs list", limit)


@runs.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON (id, status, runbook, steps, promotion).")
def show(run_id: str, as_json: bool) -> None:
    """A run: its pins, cost, steps and promotion."""
    from ..service.runs import show_run
    from ..service.views import as_json as json_of
    from ..service.views import cost_text

    view = show_run(open_read_services(), run_id)
    if as_json:
        emit_json(json_of(view))
        return
    message = display_lines(view.message.strip())
    said = f" ({one_line(message[0])})" if view.message.strip() and len(message) == 1 else ""
    click.echo(f"run {view.id}: {view.status}{said}")  # a message may quote the crew: escaped
    if len(message) > 1:
        click.echo("\n".join(quoted(view.message.strip())[0]))
    if view.continues:
        click.echo(f"  {one_line(view.continues)}")
    if view.pruned:
        click.echo(f"  {view.pruned_text()}")
    click.echo(f"  runbook {view.runbook} (sha256 {view.runbook_sha256[:12]}), requested by {one_line(view.requester)}")
    click.echo(f"  image {view.image} under {view.runtime}, inputs {json.dumps(view.shown_inputs())}")
    models = ", ".join(sorted(set(view.models.values())))
    override = " (--model for this run; the runbook's models are not used)" if view.model_override else ""
    click.echo(f"  models {terminal_safe(models)}{override}")
    origin = [f"{kind} {name}" for kind, name in (("batch", view.batch), ("schedule", view.schedule)) if name]
    if origin:
        click.echo(f"  started by {', '.join(origin)}")
    members = ", ".join(f"{member} {cost_text(cost)}" for member, cost in view.cost_by_member.items())
    click.echo(
        f"  cost {cost_text(view.cost_usd, view.unpriced_calls)} for {view.model_calls} model call(s)"
        + (f" ({members})" if members else "")
    )
    if view.tool_calls:
        click.echo(f"  tool calls {view.tool_calls} ({view.tool_calls_refused} refused; see `crewgate runs trace`)")
    for step in view.steps:
        tail = one_line(step.verdict[:100])
        cost = f"${step.cost_usd:.4f}" if step.kind in ("crew", "task") else ""
        took = step.duration or "running"
        click.echo(
            f"  {step.id:<14} #{step.attempt} {step.kind:<8} {step.status:<8} {took:>10} {cost:>9} {tail}".rstrip()
        )
    if view.promotion:
        click.echo(f"  promoted to {view.promotion.target}: {view.promotion.ref}")


@runs.command(name="trace")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print every trace event as JSON (= --format json).")
@click.option(
    "--format",
    "shape",
    type=click.Choice(["text", "json", "otlp-json"]),
    default="text",
    show_default=True,
    help="otlp-json: the run's spans as an OTLP/JSON file (see --output), for a bug report without a collector.",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Where --format otlp-json writes [default: RUN.otlp.json]."
)
def trace_command(run_id: str, as_json: bool, shape: str, output: str | None) -> None:
    """Every member turn of a run: prompts, replies, code, observations, tokens; or its spans as OTLP/JSON."""
    from ..service.runs import pruned_at, run_trace
    from ..service.views import as_json as json_of

    if shape == "otlp-json":
        from ..service.trace_file import run_otlp_json

        written = run_otlp_json(open_services(), run_id)
        target = Path(output or f"{run_id}.otlp.json")
        target.write_text(json.dumps(written.document, indent=1) + "\n")
        click.echo(f"wrote {written.spans} spans of run {run_id} to {target}")
        return
    services = open_read_services()
    events = run_trace(services, run_id)
    if as_json or shape == "json":
        emit_json(json_of(events))
        return
    pruned = pruned_at(services, run_id)
    if pruned:
        click.echo(f"run {run_id} was pruned on {pruned} (`crewgate runs prune`): its trace events were removed")
    for event in events:
        data = event.data
        if data.get("status") == "tool_call":
            _show_tool_call(event.step_id, event.attempt, event.member, event.turn, data)
            continue
        click.secho(
            f"[{event.step_id} #{event.attempt}] {event.member} turn {event.turn} "
            f"({data.get('status')}, {json_object(data.get('usage')).get('total_tokens', 0)} tokens)",
            bold=True,
        )
        for key in ("reply", "observation", "note"):  # behind a gutter: no reply can look like a turn header
            if data.get(key):
                lines, _ = quoted(str(data[key]).rstrip())
                click.secho("\n".join(lines), dim=key == "observation")


def _show_tool_call(step: str, attempt: int, member: str, turn: int, data: JsonObject) -> None:
    """A tool call as a trace turn: who called what, how it ended, its arguments and result behind the gutter."""
    replayed = ", replayed from the record" if data.get("replayed") else ""
    tool = terminal_safe(one_line(str(data.get("tool"))))
    click.secho(
        f"[{step} #{attempt}] {member} turn {turn} called {tool} ({data.get('outcome')}, "
        f"{float(str(data.get('duration_s') or 0)):.3f} s{replayed})",
        bold=True,
    )
    lines, _ = quoted(f"arguments: {data.get('arguments')}\nresult: {data.get('result')}")
    click.echo("\n".join(lines))
    flags = data.get("flags")
    if isinstance(flags, list) and flags:
        click.secho(
            f"  ! hidden characters in this call, shown escaped: {', '.join(str(flag) for flag in flags)}", fg="yellow"
        )


@runs.command()
@click.argument("run_id")
def cancel(run_id: str) -> None:
    """Cancel a run: it stops at its next step and its sandbox is removed."""
    from ..service.runs import cancel_run

    view = cancel_run(open_services(), run_id)
    click.echo(f"run {view.id} {view.status}")


@runs.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
def resume(run_id: str, as_json: bool) -> None:
    """Continue an interrupted run in this process (finished steps are not run again)."""
    from ..service.runs import continue_run

    code = continue_run(open_services(), run_id, reporter(as_json))
    sys.exit(code)  # `main` leaves without joining DBOS's threads
