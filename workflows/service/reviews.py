"""The review queue: list items, show one from its artifact, decide one.

A decision is refused unless every rule of the item's gate allows it (the
records enforce them in one transaction); a decision that settles the item
wakes its run, which then continues in whichever process hosts it.
"""

import datetime
import json
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import BadInput, CrewgateError, GateError
from ..identity import person_key
from ..runbook.schema import Runbook
from ..runs.spans import RunSpans
from ..runs.variables import run_variables
from ..store.queue import QueueQuery, queue_page
from ..store.records import parse_time
from ..store.rows import QueueRecord
from ..visible import display_lines
from ..webhooks import review_decided
from .review_story import item_story, target_words
from .review_view import DIFF_LIMIT, review_view
from .story_views import masked_inputs
from .views import DecisionResult, QueuePage, ReviewPage, ReviewSummary, ReviewView

if TYPE_CHECKING:
    from ..plain import JsonObject
    from ..runs.services import RunServices

DECISIONS = ("approve", "reject", "request_changes")
TITLE_LENGTH = 100  # characters of a queue row's title
MAX_MESSAGE = 10_000  # characters of a decision's message (the README says so)


def age(created_at: str, now: datetime.datetime) -> str:
    """How long ago, in the largest whole unit: 3d, 5h, 12m, 40s."""
    seconds = (now - parse_time(created_at)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def list_reviews(
    services: "RunServices", now: datetime.datetime | None = None, batch: str | None = None, status: str | None = None
) -> list[ReviewSummary]:
    """Every review item (of one batch, in one status), pending first, oldest first within a status."""
    return list(review_queue(services, QueueQuery(status, batch), now).items)


def review_queue(services: "RunServices", query: QueueQuery, now: datetime.datetime | None = None) -> QueuePage:
    """One page of the queue (README: "The review queue"), with how many items match in all."""
    records = services.records
    now = now or records.clock()
    found = queue_page(records.engine, query)
    books: dict[str, Runbook | str] = {}  # a page's items come from few runbook versions: each is loaded once
    items = tuple(_summary(services, books, found_item, now) for found_item in found.rows)
    return QueuePage(items, found.total, query, found.next_cursor, found.total_capped)


def _summary(
    services: "RunServices", books: dict[str, Runbook | str], r: QueueRecord, now: datetime.datetime
) -> ReviewSummary:
    inputs = json.loads(r.inputs)
    key = f"{r.runbook}@{r.version}"
    if key not in books:
        books[key] = _pinned_book(services, r.run_id)
    variables = run_variables(r.run_id, r.runbook, r.version, r.requester, inputs, {})
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
        target=target_words(book, r.step_id, variables, r.paths) if isinstance(book := books[key], Runbook) else "",
    )


def _pinned_book(services: "RunServices", run_id: str) -> "Runbook | str":
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


def show_review(services: "RunServices", review_id: str, full: bool = False) -> ReviewView:
    """A review item with its change list, diff and story, read from the artifact; `full` never cuts the diff."""
    view = review_view(services.records, services.blobs, review_id, None if full else DIFF_LIMIT)
    book = _pinned_book(services, view.run_id)
    story = item_story(services.records, services.blobs, view, book, len(view.changes))
    return replace(view, story=story)


def review_page(services: "RunServices", review_id: str) -> ReviewPage:
    """What the web's item page shows: the item, its run's runbook, and the steps a change request may re-run."""
    view = show_review(services, review_id)
    run = services.records.run(view.run_id)
    return ReviewPage(view, f"{run.runbook}@{run.version}", change_steps(services, view.run_id, view.step_id))


def change_steps(services: "RunServices", run_id: str, gate: str) -> tuple[str, ...]:
    """The steps a change request at the run's gate may send it back to, the default first (none when the
    run's runbook does not load here)."""
    book = _pinned_book(services, run_id)
    return tuple(book.changes_choices(gate)) if isinstance(book, Runbook) else ()


def decision_of(services: "RunServices", review_id: str, reviewer: str) -> str | None:
    """The reviewer's latest decision on the item, if any (what the web confirms after a post)."""
    mine = [found for found in services.records.decisions(review_id) if found.reviewer == reviewer]
    return mine[-1].decision if mine else None


def decide(
    services: "RunServices",
    review_id: str,
    reviewer: str,
    decision: str,
    message: str = "",
    sha256: str | None = None,
    step: str | None = None,
) -> DecisionResult:
    """Record `reviewer`'s decision (GateError when a rule refuses it) and wake the run once the item is settled.

    The decision is a `review.decided` webhook event right after it is recorded, and a `review {decision}`
    span in the run's trace when telemetry is on.

    `sha256` pins an approval to the artifact the reviewer saw; `step` sends
    requested changes to an earlier step. The run itself continues elsewhere:
    in `continue_run` here, or in a worker.
    """
    from executors.faults import pause

    check_decision_fields(decision, message, step)
    if decision == "request_changes":
        _check_changes_step(services, review_id, step)
    with RunSpans(services.telemetry, services.records).decision(review_id, reviewer, decision) as span:
        status = services.records.decide(review_id, reviewer, decision, message, sha256, step)
        span.set(review_status=status)
    review_decided(services.records.engine, review_id, person_key(reviewer), status)
    pause("after-decision")  # crash tests: a decision recorded, its run not yet woken
    item = services.records.review(review_id)
    result = DecisionResult(review_id, item.run_id, reviewer, decision, item.artifact_sha256, status)
    if result.decided:
        from ..runs.hosting import wake  # DBOS is slow to import: only a settled item needs it

        wake(services.store.url, item.run_id, review_id, status)
    return result


def check_decision_fields(decision: str, message: str, step: str | None) -> None:
    """Refuse, before anything is recorded, fields a decision cannot carry."""
    if decision not in DECISIONS:
        raise BadInput(f"{decision!r} is not a decision: use one of {', '.join(DECISIONS)}")
    if step is not None and decision != "request_changes":
        raise BadInput(f"a step is given only with request_changes (it names where the feedback goes), not {decision}")
    if len(message) > MAX_MESSAGE:
        raise BadInput(f"the message is {len(message)} characters: at most {MAX_MESSAGE} are kept with a decision")
    if "\x00" in message:
        raise BadInput("the message holds a NUL character: remove it")
    if decision != "approve" and not message.strip():
        who = "the requester" if decision == "reject" else "the crew"
        raise BadInput(f"a {decision.replace('_', ' ')} needs a message saying why (it goes to {who}): give one")


def _check_changes_step(services: "RunServices", review_id: str, step: str | None) -> None:
    """Refuse, before anything is recorded, changes the run could not act on (it would fail at the gate)."""
    item = services.records.review(review_id)
    book = services.pinned_runbook(item.run_id).runbook
    try:
        book.changes_step(item.step_id, step)
    except ValueError as exc:
        raise GateError(f"cannot request changes on {review_id}: {exc}") from exc
