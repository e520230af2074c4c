"""Batches as a user or a web page asks for them: start, list, show, cancel.

A batch is many ordinary runs of one pinned runbook version, one per row of an
inputs file, recorded together once every row is valid (a bad row starts
nothing). Its runs show in `runs list` and their reviews in `review list`; a
worker (or `batch start` itself) runs at most the batch's concurrency of them
at once, and a run waiting at its gate frees its slot.
"""

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInput
from ..store.batches import Batches
from ..store.costs import Cost, costs_of_batches, costs_of_runs
from ..store.cursors import page_size
from ..store.reads import batch_statuses
from ..store.rows import TERMINAL
from .batch_list import batch_view
from .batch_views import BatchRunView, BatchView, StartedBatch
from .story_views import masked_inputs

if TYPE_CHECKING:
    from ..runs.services import RunServices


def start_batch(
    services: "RunServices",
    reference: str,
    inputs_file: Path,
    concurrency: int,
    requester: str,
    source: str = "",
) -> StartedBatch:
    """Record a batch of queued runs of `reference`, one per row of `inputs_file`; nothing executes yet.

    Every row is checked and every run prepared (its repository snapshotted) before the
    batch and its runs are recorded together, in one transaction: all of them, or none.
    """
    from ..runbook.batch_file import read_batch_file
    from ..runs.create import prepare_batch
    from ..runs.tools import check_servers_start
    from ..store.batches import insert_batch
    from ..store.runbooks import resolve_runbook

    if concurrency < 1:
        raise BadInput(f"--concurrency must be 1 or more (got {concurrency})")
    loaded = resolve_runbook(reference, services.store, register=False)
    rows = read_batch_file(inputs_file, loaded.runbook)  # every row checked before anything is recorded
    check_servers_start(loaded)  # its MCP servers start and have the tools its allow-lists name
    source = source or str(inputs_file.resolve())
    batch = prepare_batch(services, loaded, rows, inputs_file, concurrency, requester, source)
    services.store.register_runbook(loaded)  # the same content again is a no-op
    with services.store.engine.begin() as db:
        insert_batch(db, batch, services.records.timestamp())
    return StartedBatch(batch.id, loaded.ref, loaded.sha256, concurrency, tuple(run.id for run in batch.runs))


def show_batch(
    services: "RunServices", batch_id: str, limit: int | None = None, cursor: str | None = None
) -> BatchView:
    """A batch with a page of its runs, in the order of its inputs file (`runs_cursor` continues them)."""
    batches = Batches(services.store.engine)
    row = batches.get(batch_id)
    statuses = batch_statuses(services.reader, [batch_id])[batch_id]
    view = batch_view(row, statuses, costs_of_batches(services.reader, [batch_id]).get(batch_id, Cost()))
    page = batches.runs_page(batch_id, page_size(limit), cursor)
    before = batches.position(batch_id, page.items[0]) if cursor is not None and page.items else 0
    costs = costs_of_runs(services.reader, (member.id for member in page.items))
    runs = tuple(
        BatchRunView(
            run=member.id,
            position=before + index,
            status=member.status,
            message=member.message,
            review=member.review,
            review_status=member.review_status,
            trace=f"crewgate runs trace {member.id}",
            cost_usd=costs.get(member.id, Cost()).cost_usd,
            inputs=masked_inputs(member.inputs),
        )
        for index, member in enumerate(page.items, start=1)
    )
    return replace(view, runs=runs, runs_cursor=page.next_cursor)


def cancel_batch(services: "RunServices", batch_id: str) -> BatchView:
    """Cancel every run of the batch that has not ended (queued ones never start); ended runs are kept."""
    from .runs import cancel_runs

    batches = Batches(services.store.engine)
    batch = batches.get(batch_id)
    batches.set_status(batch_id, "cancelled")
    unfinished = [run.id for run in batches.runs(batch_id) if run.status not in TERMINAL]
    cancel_runs(services, unfinished, f"cancelled with batch {batch_id}")
    return show_batch(services, batch.id)
