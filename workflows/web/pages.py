"""The review queue's pages: login, the queue, an item with its diff and forms, runs and a live run page.

Pages are rendered on the server (Jinja, autoescaped) and call the same service
functions as the CLI and the API. A decision's reviewer is the logged-in user;
its form carries the sha256 the page showed, so an approval binds to what the
reviewer saw, and the CSRF token every form post must carry (app.py).
"""

from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException
from litestar.params import Body
from litestar.response import Redirect, Template

from ..errors import BadInput
from ..service.accounts import UserView, check_password, end_session, session_token_user, start_session
from ..service.login_throttle import count_login_attempt, login_succeeded
from ..service.runs import TERMINAL
from ..visible import visible
from .auth import CAN, require
from .diffview import diff_files
from .paging import next_address
from .refusals import status_of
from .session import SESSION_LIFETIME, SESSION_SECONDS, signed, unsigned

if TYPE_CHECKING:  # the services are built at the edge (crewgate serve) and handed in
    from ..service.run_services import RunServices

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
QUEUE_PAGE = 50  # items on one page of the queue


def session_user(request: Request) -> UserView:
    """The logged-in user of the request's session cookie; 401 (a redirect to /login on pages) otherwise."""
    token = unsigned(request.cookies.get(request.app.state.session_cookie, ""), request.app.state.secret)
    user = session_token_user(services_of(request), token) if token else None
    if user is None:
        raise NotAuthorizedException("log in first")
    return user


def services_of(request: Request) -> "RunServices":
    services: RunServices = request.app.state.services
    return services


def render_page(name: str, user: UserView | None, http_status: int = 200, **context: Any) -> Template:
    context = {"user": user, "can": _abilities(user), **context}
    return Template(template_name=name, context=context, status_code=http_status)


def _abilities(user: UserView | None) -> set[str]:
    return {action for action, roles in CAN.items() if user is not None and user.role in roles}


@get("/", sync_to_thread=False)
def home() -> Redirect:
    return Redirect("/reviews", status_code=303)


@get("/login", sync_to_thread=False)
def login_form(next: str = "/reviews") -> Template:  # noqa: A002 - the query parameter's name
    return render_page("login.html", None, next=_local(next), error="")


@post("/login", sync_to_thread=True, status_code=303)
def login(request: Request, data: Annotated[dict[str, str], FORM]) -> Response[Any]:
    """Check the password (throttled per name and per address); on success set the session cookie."""
    services = services_of(request)
    name, password = data.get("name", "").strip(), data.get("password", "")
    address = request.client.host if request.client else "?"
    target = _local(data.get("next", "/reviews"))
    wait = count_login_attempt(services, name, address)  # counted as failed until the password proves right
    if wait:
        error = f"Too many failed logins: try again in {wait} s."
        return render_page("login.html", None, 429, next=target, error=error)
    user = check_password(services, name, password)
    if user is None:
        return render_page("login.html", None, 401, next=target, error="Wrong name or password.")
    login_succeeded(services, name, address)
    token = start_session(services, user.name, SESSION_LIFETIME)
    cookie = Cookie(
        key=request.app.state.session_cookie,
        value=signed(token, request.app.state.secret),
        httponly=True,
        samesite="strict",
        secure=request.app.state.secure_cookies,
        path="/",
        max_age=SESSION_SECONDS,
    )
    return Redirect(target, status_code=303, cookies=[cookie, _expired(request, request.app.state.csrf_cookie)])


@post("/logout", sync_to_thread=True, status_code=303)
def logout(request: Request) -> Redirect:
    token = unsigned(request.cookies.get(request.app.state.session_cookie, ""), request.app.state.secret)
    if token:
        end_session(services_of(request), token)
    return Redirect("/login", status_code=303, cookies=[_expired(request, request.app.state.session_cookie)])


def _expired(request: Request, name: str) -> Cookie:
    """A cookie that removes `name` from the browser (a new CSRF token follows at the next page).

    It carries the same Secure flag the cookie was set with: a browser ignores a `__Host-`
    cookie without it, so Litestar's own `delete_cookie` would leave the old one in place.
    """
    secure = request.app.state.secure_cookies
    return Cookie(key=name, value="", max_age=0, path="/", httponly=True, samesite="strict", secure=secure)


@get("/reviews", sync_to_thread=True)
def queue(
    request: Request,
    user: UserView,
    status: str | None = None,
    batch: str | None = None,
    runbook: str | None = None,
    requester: str | None = None,
    order: str = "oldest",
    after: str | None = None,
    start: int = 0,
) -> Template:
    """Pending items first, each titled with its runbook and request, with requester, age, size, target and
    batch; filters, an order and pages of QUEUE_PAGE items read after a cursor (one page is read, however
    long the queue and however deep the page). `start` only says how many items came before this page."""
    from ..service.clusters import list_clusters
    from ..service.queue import review_queue
    from ..service.views import QueueQuery

    filters = {"status": status or "", "batch": batch or "", "runbook": runbook or "", "requester": requester or ""}
    grouped = status in (None, "", "pending") and not runbook and not requester  # a cluster is shown once
    query = QueueQuery(
        status or None, batch or None, runbook or None, requester or None, order == "newest", QUEUE_PAGE,
        without_clusters=grouped, cursor=after or None,
    )  # fmt: skip
    found = review_queue(services_of(request), query)
    clusters = list_clusters(services_of(request), batch or None) if grouped and not after else []
    pending = review_queue(services_of(request), QueueQuery(status="pending", limit=0)).total  # the tab's count
    first = max(start, 0) if after else 0
    return render_page(
        "queue.html",
        user,
        items=found.items,
        clusters=clusters,
        total=found.total,
        total_text=found.total_text,
        pending=pending,
        first=first,
        paged=bool(after),
        next_cursor=found.next_cursor,
        order="newest" if order == "newest" else "oldest",
        filters=filters,
        link=lambda **changed: "/reviews?" + urlencode({**filters, "order": order, **changed}),
    )


@get("/reviews/{review_id:str}", sync_to_thread=True)
def review_item(request: Request, user: UserView, review_id: str, done: str = "") -> Template:
    """The item: its change list, coloured diff with warnings, evidence, policy, timeline and decision forms.

    After a decision (`?done`), the confirmation says what the records hold for this user, never the query text.
    """
    return _item_page(request, user, review_id, notice=_recorded(request, user, review_id) if done else "", error="")


def _recorded(request: Request, user: UserView, review_id: str) -> str:
    from ..service.reviews import decision_of

    decision = decision_of(services_of(request), review_id, user.name)
    return f"Your decision was recorded: {decision}." if decision else ""


def _item_page(
    request: Request, user: UserView, review_id: str, notice: str, error: str, http_status: int = 200
) -> Template:
    from ..service.reviews import review_page

    page = review_page(services_of(request), review_id)
    view = page.item
    files = diff_files(view.diff)
    lines = [line for part in files for line in part.lines]
    return render_page(
        "item.html",
        user,
        http_status,
        item=view,
        runbook=page.runbook,
        steps=page.rerun_steps,
        files=files,
        parts={part.title: part for part in files},
        flagged=sum(bool(line.warnings) for line in lines),
        counts={kind: sum(line.kind == kind for line in lines) for kind in ("add", "del")},
        notice=notice,
        error=error,
    )


@post("/reviews/{review_id:str}/decide", sync_to_thread=True, status_code=303)
def decide_form(
    request: Request, user: UserView, review_id: str, data: Annotated[dict[str, str], FORM]
) -> Response[Any]:
    """Record the logged-in user's decision on the artifact whose sha256 the form carries."""
    from ..service.reviews import decide

    decision = data.get("decision", "")
    try:
        require(user, "decide")
        if decision not in ("approve", "reject", "request_changes"):
            raise BadInput(f"{decision!r} is not approve, reject or request_changes")
        decide(
            services_of(request),
            review_id,
            user.name,
            decision,
            data.get("message", ""),
            data.get("sha256") or "missing",  # a form without the sha256 it showed never approves
            (data.get("step") or None) if decision == "request_changes" else None,  # one form: its step picker
        )
    except Exception as exc:
        status = status_of(exc)
        if status is None:
            raise
        return _item_page(
            request, user, review_id, notice="", error=str(getattr(exc, "detail", exc)), http_status=status
        )
    return Redirect(f"/reviews/{quote(review_id)}?done=1", status_code=303)


@get("/runs", sync_to_thread=True)
def runs(request: Request, user: UserView, limit: int = 100, after: str | None = None) -> Template:
    from ..service.runs import list_runs

    page = list_runs(services_of(request), max(1, min(limit, 1000)), after)
    older = next_address(request, page.next_cursor) if page.next_cursor else None
    return render_page("runs.html", user, runs=page.items, older=older, paged=after is not None)


@get("/runs/{run_id:str}", sync_to_thread=True)
def run_page(request: Request, user: UserView, run_id: str) -> Template:
    """A run: pins, live step progress (htmx polls the part below while the run is not over) and its trace."""
    from ..service.runs import run_trace

    services = services_of(request)
    return render_page("run.html", user, trace=run_trace(services, run_id), **_run_context(request, run_id))


@get("/runs/{run_id:str}/live", sync_to_thread=True)
def run_live(request: Request, user: UserView, run_id: str) -> Template:
    """The run page's live part: status, steps and promotion; it stops polling once the run is over."""
    return render_page("run_live.html", user, **_run_context(request, run_id))


def _run_context(request: Request, run_id: str) -> dict[str, Any]:
    from ..service.runs import reviews_of_run, show_run

    services = services_of(request)
    view = show_run(services, run_id)
    return {"run": view, "reviews": reviews_of_run(services, run_id), "ended": view.status in TERMINAL}


def _local(target: str) -> str:
    """Only a plain path on this server: never an open redirect to another site, nor hidden characters."""
    plain = target.startswith("/") and not target.startswith(("//", "/\\")) and not visible(target, False).flagged
    return target if plain else "/reviews"


pages = Router(
    path="/",
    route_handlers=[home, login_form, login, logout, queue, review_item, decide_form, runs, run_page, run_live],
    dependencies={"user": Provide(session_user, sync_to_thread=True)},
    include_in_schema=False,
)
