"""The JSON API under /api/v1: reviews and runs, through the same service functions as the CLI.

Refusals are the CLI's, as HTTP statuses (app.py maps them): 401 without a valid
token, 403 when the role or the gate's policy forbids it, 404 for an unknown id,
409 when the item's state refuses it (closed, expired, decided by this reviewer,
another artifact's sha256), 422 for a malformed request.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from msgspec import Meta

from ..service.accounts import UserView
from ..service.reviews import MAX_MESSAGE
from ..service.runbooks import REF_PATTERN
from ..service.views import (
    DecisionResult,
    Page,
    ReviewSummary,
    ReviewView,
    RunSummary,
    RunView,
    StartedRun,
    TraceEntry,
)
from .auth import bearer_user, require
from .paging import PAGE_HEADERS, paged

if TYPE_CHECKING:  # the services are built at the edge (crewgate serve) and handed in
    from ..service.run_services import RunServices


@dataclass(frozen=True)
class DecisionRequest:
    """A decision on a review item; the reviewer is the token's user."""

    decision: Literal["approve", "reject", "request_changes"]
    # The artifact the reviewer saw, required as on the form: a decision on another one is refused (409).
    sha256: Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
    message: Annotated[str, Meta(max_length=MAX_MESSAGE)] = ""
    # request_changes only: the earlier step to run again (with another decision: 422).
    step: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None


@dataclass(frozen=True)
class RunRequest:
    """A run to record for a worker; its requester is the token's user."""

    runbook: Annotated[str, Meta(pattern=REF_PATTERN, max_length=200)]  # NAME@VERSION or NAME (latest); never a file
    inputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    """Every refusal's body: the status, the CLI's message, the kind of error, and for 422 what was wrong where."""

    status_code: int
    detail: str
    error: str
    extra: list[dict[str, Any]] | None = None


WHY = {
    401: "No valid API token (`Authorization: Bearer TOKEN`)",
    403: "The token user's role, or the gate's policy, does not allow it",
    404: "No such review item, run or runbook",
    409: "The item refuses it now: closed, expired, already decided by this reviewer, or another artifact's sha256",
    422: "The request is malformed, or names something that cannot be used",
    503: "The sandbox engine (Docker) is unreachable or its image is missing, or a model's key is not set here",
}


def refusals(*codes: int) -> dict[int, ResponseSpec]:
    """The documented refusals of an operation: 401 and 422 always, plus `codes`."""
    return {
        code: ResponseSpec(Refusal, description=WHY[code], generate_examples=False)
        for code in sorted({401, 422, *codes})
    }


def services_of_api(request: Request) -> "RunServices":
    services: RunServices = request.app.state.services
    return services


def token_user(request: Request) -> UserView:
    return bearer_user(request, services_of_api(request))


@get("/reviews", sync_to_thread=True, responses=refusals(), response_headers=PAGE_HEADERS)
def list_review_items(
    request: Request,
    user: UserView,
    status: str | None = None,
    batch: str | None = None,
    runbook: str | None = None,
    requester: str | None = None,
    order: Literal["oldest", "newest"] = "oldest",
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 50,
    after: Annotated[str | None, Parameter(max_length=400)] = None,
    offset: Annotated[int, Parameter(ge=0, le=2**62)] = 0,
) -> Response[list[ReviewSummary]]:
    """Review items, pending first (oldest or newest first within a status), filtered by status, batch,
    runbook (NAME or NAME@VERSION) and requester, `limit` to a page; the next page is in the `Link` header
    (`after` = its cursor). `offset` skips items instead (pages by number; a deep one reads what it skips)."""
    from ..service.queue import review_queue
    from ..service.views import QueueQuery

    require(user, "read")
    query = QueueQuery(status, batch, runbook, requester, order == "newest", limit, offset, cursor=after)
    found = review_queue(services_of_api(request), query)
    return paged(request, Page(list(found.items), found.next_cursor))


@get("/reviews/{review_id:str}", sync_to_thread=True, responses=refusals(404))
def show_review_item(request: Request, user: UserView, review_id: str) -> ReviewView:
    """A review item with its artifact's changes, diff, evidence, policy and decisions."""
    from ..service.reviews import show_review

    require(user, "read")
    services = services_of_api(request)
    return show_review(services, review_id)


@post("/reviews/{review_id:str}/decisions", sync_to_thread=True, responses=refusals(403, 404, 409))
def decide_review_item(request: Request, user: UserView, review_id: str, data: DecisionRequest) -> DecisionResult:
    """Record the token user's decision; a settled item wakes its run, which a worker continues."""
    from ..service.reviews import decide

    require(user, "decide")
    return decide(services_of_api(request), review_id, user.name, data.decision, data.message, data.sha256, data.step)


@get("/runs", sync_to_thread=True, responses=refusals(), response_headers=PAGE_HEADERS)
def list_run_items(
    request: Request,
    user: UserView,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 50,
    after: Annotated[str | None, Parameter(max_length=400)] = None,
) -> Response[list[RunSummary]]:
    """Runs, newest first, `limit` to a page; the next page is in the `Link` header (`after` = its cursor)."""
    from ..service.runs import list_runs

    require(user, "read")
    return paged(request, list_runs(services_of_api(request), limit, after))


@get("/runs/{run_id:str}", sync_to_thread=True, responses=refusals(404))
def show_run_item(request: Request, user: UserView, run_id: str) -> RunView:
    """A run: its pins, steps and promotion."""
    from ..service.runs import show_run

    require(user, "read")
    return show_run(services_of_api(request), run_id)


@get("/runs/{run_id:str}/trace", sync_to_thread=True, responses=refusals(404))
def run_trace_items(request: Request, user: UserView, run_id: str) -> list[TraceEntry]:
    """Every turn of every member of the run, in order."""
    from ..service.runs import run_trace

    require(user, "read")
    return run_trace(services_of_api(request), run_id)


@post("/runs", sync_to_thread=True, responses=refusals(403, 404, 503))
def start_run_item(request: Request, user: UserView, data: RunRequest) -> StartedRun:
    """Record a run of a registered runbook version for a worker to start; admins only."""
    from ..service.runs import start_run

    require(user, "manage")
    pairs = [f"{name}={value}" for name, value in data.inputs.items()]
    return start_run(services_of_api(request), data.runbook, pairs, user.name, registered_only=True)


@post("/runs/{run_id:str}/cancel", sync_to_thread=True, responses=refusals(403, 404, 503))
def cancel_run_item(request: Request, user: UserView, run_id: str) -> RunView:
    """Cancel a run that has not ended; admins only."""
    from ..service.runs import cancel_run

    require(user, "manage")
    return cancel_run(services_of_api(request), run_id)


api = Router(
    path="/api/v1",
    route_handlers=[
        list_review_items,
        show_review_item,
        decide_review_item,
        list_run_items,
        show_run_item,
        run_trace_items,
        start_run_item,
        cancel_run_item,
    ],
    dependencies={"user": Provide(token_user, sync_to_thread=True)},
)
