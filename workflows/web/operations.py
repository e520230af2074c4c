"""Pages (and API reads) for schedules and batches: what fires when, what a batch has done so far.

A schedule's page says its cron in words, its next fire times in its own zone and in
UTC, its recent ticks with their runs and statuses, and why a tick was missed or
skipped; an admin can pause, resume or trigger it. A batch's page shows its progress
by status and each row's inputs and run; an admin can cancel it. Every form carries
the CSRF token; every action is checked against the user's role here, not in the page.
"""

from typing import Annotated
from urllib.parse import quote

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Redirect, Template

from ..service.accounts import UserView
from ..service.batch_views import BatchView
from ..service.schedule_views import ScheduleView
from .api import refusals, services_of_api, token_user
from .auth import require
from .pages import FORM, render_page, services_of, session_user
from .paging import PAGE_HEADERS, next_address, paged


@get("/schedules", sync_to_thread=True)
def schedules_page(request: Request, user: UserView) -> Template:
    from ..service.schedules import list_schedules

    return render_page("schedules.html", user, schedules=list_schedules(services_of(request)))


@get("/schedules/{name:str}", sync_to_thread=True)
def schedule_page(request: Request, user: UserView, name: str, done: str = "") -> Template:
    from ..service.schedules import show_schedule

    view = show_schedule(services_of(request), name, recent=30)
    notice = {"paused": "Paused.", "resumed": "Resumed.", "triggered": "A tick is queued: a worker fires it."}
    return render_page("schedule.html", user, schedule=view, notice=notice.get(done, ""))


@post("/schedules/{name:str}/{action:str}", sync_to_thread=True, status_code=303)
def schedule_action(
    request: Request, user: UserView, name: str, action: str, data: Annotated[dict[str, str], FORM]
) -> Redirect:
    """Pause, resume or trigger the schedule; admins only."""
    from ..errors import BadInput
    from ..service.schedules import pause_schedule, trigger_schedule

    del data  # the form carries only its CSRF token (checked before this runs)
    require(user, "manage")
    services = services_of(request)
    if action in ("pause", "resume"):
        pause_schedule(services, name, action == "pause")
    elif action == "trigger":
        trigger_schedule(services, name)
    else:
        raise BadInput(f"{action!r} is not pause, resume or trigger")
    done = {"pause": "paused", "resume": "resumed", "trigger": "triggered"}[action]
    return Redirect(f"/schedules/{quote(name)}?done={done}", status_code=303)


@get("/batches", sync_to_thread=True)
def batches_page(request: Request, user: UserView, after: str | None = None) -> Template:
    from ..service.batch_list import list_batches

    page = list_batches(services_of(request), 100, after)
    older = next_address(request, page.next_cursor) if page.next_cursor else None
    return render_page("batches.html", user, batches=page.items, older=older, paged=after is not None)


@get("/batches/{batch_id:str}", sync_to_thread=True)
def batch_page(request: Request, user: UserView, batch_id: str, done: str = "", after: str | None = None) -> Template:
    from ..service.batches import show_batch

    view = show_batch(services_of(request), batch_id, 100, after)
    more = next_address(request, view.runs_cursor, keep=()) if view.runs_cursor else None
    return render_page(
        "batch.html", user, batch=view, notice="Cancelled." if done else "", more=more, paged=bool(after)
    )


@post("/batches/{batch_id:str}/cancel", sync_to_thread=True, status_code=303)
def batch_cancel(request: Request, user: UserView, batch_id: str, data: Annotated[dict[str, str], FORM]) -> Redirect:
    """Cancel every run of the batch that has not ended; admins only."""
    from ..service.batches import cancel_batch

    del data
    require(user, "manage")
    cancel_batch(services_of(request), batch_id)
    return Redirect(f"/batches/{quote(batch_id)}?done=1", status_code=303)


operation_pages = Router(
    path="/",
    route_handlers=[schedules_page, schedule_page, schedule_action, batches_page, batch_page, batch_cancel],
    dependencies={"user": Provide(session_user, sync_to_thread=True)},
    include_in_schema=False,
)


@get("/schedules", sync_to_thread=True, responses=refusals())
def list_schedule_items(request: Request, user: UserView) -> list[ScheduleView]:
    """Every schedule: cron (and in words), zone, state, next fire, last run, tick counts."""
    from ..service.schedules import list_schedules

    require(user, "read")
    return list_schedules(services_of_api(request))


@get("/schedules/{name:str}", sync_to_thread=True, responses=refusals(404))
def show_schedule_item(request: Request, user: UserView, name: str) -> ScheduleView:
    """A schedule with its next 5 fire times (UTC and its zone) and its 30 most recent ticks."""
    from ..service.schedules import show_schedule

    require(user, "read")
    return show_schedule(services_of_api(request), name, recent=30)


@get("/batches", sync_to_thread=True, responses=refusals(), response_headers=PAGE_HEADERS)
def list_batch_items(
    request: Request,
    user: UserView,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 50,
    after: Annotated[str | None, Parameter(max_length=400)] = None,
) -> Response[list[BatchView]]:
    """Batches, newest first, with their runs counted by status; the next page is in the `Link` header."""
    from ..service.batch_list import list_batches

    require(user, "read")
    return paged(request, list_batches(services_of_api(request), limit, after))


@get("/batches/{batch_id:str}", sync_to_thread=True, responses=refusals(404))
def show_batch_item(
    request: Request,
    user: UserView,
    batch_id: str,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 50,
    after: Annotated[str | None, Parameter(max_length=400)] = None,
) -> BatchView:
    """A batch: its progress by status and a page of its rows' runs (status, review, cost), in the order of its
    inputs file; `runs_cursor` is the `after` of the next page of runs (null after the last)."""
    from ..service.batches import show_batch

    require(user, "read")
    return show_batch(services_of_api(request), batch_id, limit, after)


operation_api = Router(
    path="/api/v1",
    route_handlers=[list_schedule_items, show_schedule_item, list_batch_items, show_batch_item],
    dependencies={"user": Provide(token_user, sync_to_thread=True)},
)
