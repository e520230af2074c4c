"""The cluster page: a batch's pending items that make the same change, read once and decided at once.

The page shows the representative diff, each member (identical, or the same change on
another base) and the batch's other pending items with what differs. Its form carries
every member's id and the sha256 the page showed: the service records a decision on
each member whose artifact is still that one, and reports the rest as left undecided.
"""

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.response import Template

from ..service.accounts import UserView
from .auth import require
from .diffview import diff_files
from .pages import FORM, render_page, services_of, session_user
from .refusals import status_of


@get("/clusters/{cluster:str}", sync_to_thread=True)
def cluster_page(request: Request, user: UserView, cluster: str) -> Template:
    """The cluster: representative diff, members, the batch's others, and one decision form for all."""
    return _cluster_page(request, user, cluster, error="")


@post("/clusters/{cluster:str}/decide", sync_to_thread=True, status_code=200)
def decide_cluster_form(
    request: Request, user: UserView, cluster: str, data: Annotated[dict[str, str], FORM]
) -> Response[Any] | Template:
    """Record the logged-in user's decision on each member the form showed (id:sha256 pairs)."""
    from ..service.clusters import decide_cluster

    decision = data.get("decision", "")
    shown = dict(pair.split(":", 1) for pair in data.get("members", "").split(",") if ":" in pair)
    try:
        require(user, "decide")
        step = (data.get("step") or None) if decision == "request_changes" else None
        outcome = decide_cluster(
            services_of(request), cluster, user.name, decision, data.get("message", ""), step, shown
        )
    except Exception as exc:
        status = status_of(exc)
        if status is None:
            raise
        return _cluster_page(request, user, cluster, str(getattr(exc, "detail", exc)), status)
    return render_page("cluster_done.html", user, outcome=outcome, cluster=cluster)


def _cluster_page(request: Request, user: UserView, cluster: str, error: str, http_status: int = 200) -> Template:
    from ..service.clusters import show_cluster
    from ..service.reviews import change_steps

    view = show_cluster(services_of(request), cluster)
    files = diff_files(view.representative.diff)
    steps = change_steps(services_of(request), view.representative.run_id, view.representative.step_id)
    members = ",".join(f"{member.review_id}:{member.artifact_sha256}" for member in view.members)
    return render_page(
        "cluster.html",
        user,
        http_status,
        view=view,
        item=view.representative,
        files=files,
        steps=steps,
        members=members,
        error=error,
        link=f"/clusters/{quote(cluster)}",
    )


cluster_pages = Router(
    path="/",
    route_handlers=[cluster_page, decide_cluster_form],
    dependencies={"user": Provide(session_user, sync_to_thread=True)},
    include_in_schema=False,
)
