"""The list of batches, as `batch list`, the batches page and the API show it: newest first, a page at a time,
each with its runs counted by status and its cost.

Apart from the rest of the batch service (service/batches.py: start, show, cancel), so `batch list` reads
through a `Reads` (runs/read_services.py) without importing SQLAlchemy.
"""

from typing import TYPE_CHECKING

from ..store.costs import Cost, costs_of_batches
from ..store.cursors import Page, page_size
from ..store.reads import batch_statuses, batches_page
from ..store.rows import TERMINAL, BatchRecord, tally_counts
from .batch_views import BatchView

if TYPE_CHECKING:
    from ..runs.read_services import Reads


def list_batches(services: "Reads", limit: int | None = None, cursor: str | None = None) -> Page[BatchView]:
    """A page of batches, newest first, each with its runs counted by status and its cost (no runs listed)."""
    found = batches_page(services.reader, page_size(limit), cursor)
    ids = [row.id for row in found.items]
    statuses, costs = batch_statuses(services.reader, ids), costs_of_batches(services.reader, ids)
    views = [batch_view(row, statuses[row.id], costs.get(row.id, Cost())) for row in found.items]
    return Page(views, found.next_cursor)


def batch_counts(services: "Reads", batch_id: str) -> dict[str, int]:
    """The batch's runs counted by status (done, waiting, failed, cancelled, running, queued): its live progress."""
    return tally_counts(batch_statuses(services.reader, [batch_id])[batch_id])


def batch_view(row: BatchRecord, statuses: dict[str, int], cost: Cost) -> BatchView:
    """A batch from its row, its runs counted by status and its cost (its runs are listed by `show_batch`)."""
    ended = all(status in TERMINAL for status in statuses)
    return BatchView(
        id=row.id,
        runbook=f"{row.runbook}@{row.version}",
        status="ended" if row.status == "open" and ended else row.status,
        concurrency=row.concurrency,
        source=row.source,
        requester=row.requester,
        created_at=row.created_at,
        total=sum(statuses.values()),
        counts=tally_counts(statuses),
        cost_usd=cost.cost_usd,
        unpriced_calls=cost.unpriced_calls,
    )
