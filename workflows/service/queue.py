"""The review queue a page at a time, as every surface lists it (README: "The review queue").

Kept apart from the rest of the review service so listing loads what a list needs: no
runbook, no template engine, no diff. An item says where approving writes (kept when its
gate opened it); only an item opened before crewgate kept that loads its run's runbook.
"""

import datetime
import json
from typing import TYPE_CHECKING

from ..errors import CrewgateError
from ..runs.variables import run_variables
from ..store.queue import QueueQuery, queue_page
from ..store.reads import read_batch
from ..store.rows import QueueRecord, parse_time
from ..visible import display_lines
from .story_views import masked_inputs
from .views import QueuePage, ReviewSummary

if TYPE_CHECKING:
    from ..plain import JsonObject
    from ..runbook.schema import Runbook
    from ..runs.read_services import Reads

TITLE_LENGTH = 100  # characters of a queue row's title


def age(created_at: str, now: datetime.datetime) -> str:
    """How long ago, in the largest whole unit: 3d, 5h, 12m, 40s."""
    seconds = (now - parse_time(created_at)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def list_reviews(
    services: "Reads", now: datetime.datetime | None = None, batch: str | None = None, status: str | None = None
) -> list[ReviewSummary]:
    """Every review item (of one batch, in one status), pending first, oldest first within a status."""
    return list(review_queue(services, QueueQuery(status, batch), now).items)


def check_batch(services: "Reads", batch_id: str) -> None:
    """Refuse an unknown batch id (NotFound): a filter by it must not quietly match nothing."""
    read_batch(services.reader, batch_id)


def review_queue(services: "Reads", query: QueueQuery, now: datetime.datetime | None = None) -> QueuePage:
    """One page of the queue (README: "The review queue"), with how many items match in all."""
    now = now or services.clock()
    found = queue_page(services.reader, query)
    books: dict[str, Runbook | str] = {}  # older items' runbooks: a page's come from few versions, each loaded once
    items = tuple(_summary(services, books, found_item, now) for found_item in found.rows)
    return QueuePage(items, found.total, query, found.next_cursor, found.total_capped)


def _summary(
    services: "Reads", books: "dict[str, Runbook | str]", r: QueueRecord, now: datetime.datetime
) -> ReviewSummary:
    inputs = json.loads(r.inputs)
    return ReviewSummary(
        r.id,
        r.run_id,
        f"{r.runbook}@{r.version}",
        r.step_id,
        r.status,
        r.artifact_sha256,
        r.created_at,
        r.expires_at,
        age(r.created_at, now),
        r.batch_id,
        title=request_title(inputs if isinstance(inputs, dict) else {}),
        requester=r.requester,
        lines_added=r.lines_added,
        lines_removed=r.lines_removed,
        paths=r.paths,
        change_key=r.change_key,
        target=r.target if r.target is not None else _target_of_older_item(services, books, r, inputs),
    )


def _target_of_older_item(
    services: "Reads", books: "dict[str, Runbook | str]", r: QueueRecord, inputs: "JsonObject"
) -> str:
    """Where approving an item opened before crewgate kept it writes, from its run's pinned runbook ("" when
    that does not load here)."""
    from ..targets.words import target_words

    key = f"{r.runbook}@{r.version}"
    if key not in books:
        books[key] = pinned_book(services, r.run_id)
    book = books[key]
    if isinstance(book, str):
        return ""
    return target_words(
        book, r.step_id, run_variables(r.run_id, r.runbook, r.version, r.requester, inputs, {}), r.paths
    )


def pinned_book(services: "Reads", run_id: str) -> "Runbook | str":
    """The run's pinned runbook, or why it does not load here (a view shows the rest without it)."""
    try:
        return services.pinned_runbook(run_id).runbook
    except CrewgateError as exc:
        return str(exc)


def request_title(inputs: "JsonObject") -> str:
    """A queue row's title: the first line of the run's request (its `request` input, else its first text input;
    an input named like a secret shows "***")."""
    texts = [value for value in masked_inputs(inputs).values() if isinstance(value, str)]
    chosen = inputs.get("request") if isinstance(inputs.get("request"), str) else (texts[0] if texts else "")
    first = display_lines(str(chosen).strip())[0]
    return first if len(first) <= TITLE_LENGTH else first[: TITLE_LENGTH - 1] + "…"
