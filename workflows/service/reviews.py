"""The review queue: list items, show one from its artifact, decide one.

A decision is refused unless every rule of the item's gate allows it (the
records enforce them in one transaction); a decision that settles the item
wakes its run, which then continues in whichever process hosts it.
"""

from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import BadInput, GateError
from ..identity import person_key
from ..runbook.schema import Runbook
from ..runs.spans import RunSpans
from ..webhooks import review_decided
from .queue import pinned_book
from .review_story import item_story
from .review_view import DIFF_LIMIT, review_view
from .views import DecisionResult, ReviewPage, ReviewView

if TYPE_CHECKING:
    from ..runs.services import RunServices

DECISIONS = ("approve", "reject", "request_changes")
MAX_MESSAGE = 10_000  # characters of a decision's message (the README says so)


def show_review(services: "RunServices", review_id: str, full: bool = False) -> ReviewView:
    """A review item with its change list, diff and story, read from the artifact; `full` never cuts the diff."""
    view = review_view(services.records, services.blobs, review_id, None if full else DIFF_LIMIT)
    book = pinned_book(services, view.run_id)
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
    book = pinned_book(services, run_id)
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
