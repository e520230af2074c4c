"""`crewgate runs prune`: remove what ended runs no longer need (trace events, call bodies, unused blobs)."""

import click

from ._output import emit_json, open_services


@click.command()
@click.option("--before", metavar="DATE", help="Prune runs that ended before DATE (2026-09-01, or an ISO time; UTC).")
@click.option("--older-than", metavar="AGE", help="Prune runs that ended more than AGE ago: 90d, 12h, 30m.")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def prune(before: str | None, older_than: str | None, dry_run: bool, as_json: bool) -> None:
    """Remove the trace events, model- and tool-call bodies, and unused blobs of ended runs.

    Only runs that ended (promoted, completed, failed, rejected, cancelled) before the
    cut-off and have no pending review are pruned. Their steps, reviews, decisions,
    promotions and costs stay; `runs show` says what was pruned and when. Safe while
    workers run. On SQLite the database file is compacted afterwards.
    """
    from ..service.retention import ended_before, prune_runs
    from ..service.views import as_json as json_of

    services = open_services()
    cutoff = ended_before(services.clock(), before, older_than)
    say = (lambda _: None) if as_json else (lambda text: click.echo(f"  {text}", err=True))
    report = prune_runs(services, cutoff, dry_run, say)
    if as_json:
        emit_json(json_of(report))
        return
    verb = "would remove" if dry_run else "removed"
    rows = report.rows
    click.echo(
        f"{'dry run: ' if dry_run else ''}{len(report.runs)} run(s) ended before {report.ended_before}: {verb} "
        f"{rows.trace_events} trace event(s), {rows.model_call_bodies} model-call bod(ies), "
        f"{rows.tool_call_bodies} tool-call bod(ies), {report.blobs} blob(s) ({_size(report.blob_bytes)})"
    )
    if report.database_bytes_before is not None and report.database_bytes_after is not None:
        click.echo(f"database file {_size(report.database_bytes_before)} -> {_size(report.database_bytes_after)}")
    for note in report.notes:
        click.echo(f"note: {note}")


def _size(count: int) -> str:
    return f"{count / (1 << 20):.1f} MiB" if count >= 1 << 20 else f"{count / 1024:.1f} KiB"
