"""`crewgate batch ...`: many runs of one runbook version, one per row of an inputs file."""

import getpass
import json
import sys
from pathlib import Path

import click

from executors.errors import Exit

from ..plain import json_object
from ._output import emit_json, open_read_services, open_services
from ._progress import reporter
from ._table import echo_table, next_page


@click.group()
def batch() -> None:
    """Start, follow and cancel batches of runs."""


@batch.command()
@click.argument("reference")
@click.option(
    "--inputs",
    "inputs_file",
    required=True,
    type=click.Path(path_type=Path),
    help="JSON Lines (one object per line) or CSV (a header of input names): one run's inputs per row.",
)
@click.option("--concurrency", type=int, default=2, show_default=True, help="Runs of the batch working at once.")
@click.option("--requester", default=None, help="Who starts the runs [default: your user name].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON events (the batch, its progress, the summary).")
@click.option("--detach", is_flag=True, help="Record the batch for `crewgate worker` and return at once.")
def start(
    reference: str, inputs_file: Path, concurrency: int, requester: str | None, as_json: bool, detach: bool
) -> None:
    """Run REFERENCE (a file, NAME@VERSION or NAME) once per row of --inputs; every row is checked first.

    Without --detach this process runs the batch, showing its progress, until every run has
    ended or waits for review. Exit codes: 0 all done, 1 some failed, 2 bad input (nothing
    started), 10 some wait for review.
    """
    from ..service.batches import show_batch, start_batch
    from ..service.runs import run_worker
    from ..service.views import as_json as json_of
    from ._batch_progress import BatchProgress, summary_lines

    services = open_services()
    started = start_batch(services, reference, inputs_file, concurrency, requester or getpass.getuser())
    if as_json:
        click.echo(json.dumps({"event": "batch", "status": "started", **json_object(json_of(started))}))
    else:
        click.echo(f"batch {started.id}: {len(started.runs)} run(s) of {started.runbook}, {concurrency} at a time")
    if detach:
        if not as_json:
            click.echo(f"  `crewgate worker` runs them; `crewgate batch show {started.id}` follows them")
        return
    progress = BatchProgress(services, started.id, as_json)
    say = reporter(True) if as_json else (lambda event: None)  # the progress line says it all on a terminal
    run_worker(services, say, True, concurrency, batch=started.id, progress=progress)
    progress.finish()
    view = show_batch(services, started.id)
    if as_json:
        click.echo(json.dumps({"event": "batch", "status": "settled", **json_object(json_of(view))}))
    else:
        click.echo("\n".join(summary_lines(view)))
    sys.exit(_exit_code(view.counts))


@batch.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (id, runbook, status, counts, ...).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Batches on a page.")
@click.option("--after", "cursor", metavar="CURSOR", help="The page after the one that printed this cursor.")
def list_command(as_json: bool, limit: int, cursor: str | None) -> None:
    """Batches, newest first, with counts by status, a page at a time."""
    from ..service.batch_list import list_batches
    from ..service.views import as_json as json_of
    from ._batch_progress import counts_text

    page = list_batches(open_read_services(), limit, cursor)
    items = page.items
    if as_json:
        emit_json(json_of(items))
    elif not items:
        click.echo("no batches yet: start one with `crewgate batch start RUNBOOK --inputs FILE`")
    else:
        rows = [(item.id, item.status, item.runbook, item.created_at, counts_text(item.counts)) for item in items]
        echo_table(("BATCH", "STATUS", "RUNBOOK", "CREATED", "RUNS"), rows)
    next_page(page.next_cursor, "crewgate batch list", limit if limit != 50 else None)


@batch.command()
@click.argument("batch_id")
@click.option("--json", "as_json", is_flag=True, help="Print the batch, its counts and a page of its runs as JSON.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Runs on a page.")
@click.option("--after", "cursor", metavar="CURSOR", help="The page of runs after the one that printed this cursor.")
def show(batch_id: str, as_json: bool, limit: int, cursor: str | None) -> None:
    """A batch: counts by status, and its runs (a page at a time) with their status, review and trace command."""
    from ..service.batches import show_batch
    from ..service.views import as_json as json_of
    from ._batch_progress import summary_lines

    view = show_batch(open_services(), batch_id, limit, cursor)
    if as_json:
        emit_json(json_of(view))
    else:
        click.echo("\n".join(summary_lines(view)))
        click.echo(f"  trace of a run: crewgate runs trace RUN   (inputs from {view.source})")
    next_page(view.runs_cursor, f"crewgate batch show {batch_id}", limit if limit != 50 else None)


@batch.command()
@click.argument("batch_id")
@click.option("--json", "as_json", is_flag=True, help="Print the batch after cancelling, as JSON.")
def cancel(batch_id: str, as_json: bool) -> None:
    """Cancel every run of the batch that has not ended; queued runs never start, ended runs are kept."""
    from ..service.batches import cancel_batch
    from ..service.views import as_json as json_of
    from ._batch_progress import summary_lines

    view = cancel_batch(open_services(), batch_id)
    if as_json:
        emit_json(json_of(view))
        return
    click.echo("\n".join(summary_lines(view)))


def _exit_code(counts: dict[str, int]) -> int:
    if counts["failed"] or counts["cancelled"]:
        return int(Exit.FAILED)
    return int(Exit.WAITING) if counts["waiting"] else int(Exit.OK)
