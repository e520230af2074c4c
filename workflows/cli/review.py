"""`crewgate review ...`: the review queue. Decisions are refused unless every gate rule allows them."""

import sys

import click

from executors.errors import BadInput, Exit

from ._output import emit_json, open_read_services, open_services
from ._progress import reporter
from ._table import echo_table, next_page
from .review_clusters import cluster_command, clusters_command, decide_cluster_command


@click.group()
def review() -> None:
    """List, inspect and decide review items."""


@review.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (id, run_id, runbook, title, size, ...).")
@click.option("--batch", default=None, metavar="ID", help="Only the items of this batch's runs.")
@click.option(
    "--status",
    type=click.Choice(["pending", "approved", "rejected", "changes_requested", "expired", "cancelled"]),
    default=None,
    help="Only items in this status.",
)
@click.option("--runbook", default=None, metavar="NAME[@VERSION]", help="Only items of runs of this runbook.")
@click.option("--requester", default=None, metavar="NAME", help="Only items of runs this person started.")
@click.option("--newest", is_flag=True, help="Newest first within a status [default: oldest first].")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Items on a page.")
@click.option("--after", "cursor", metavar="CURSOR", help="The page after the one that printed this cursor.")
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True, help="Skip this many items first.")
def list_command(
    as_json: bool,
    batch: str | None,
    status: str | None,
    runbook: str | None,
    requester: str | None,
    newest: bool,
    limit: int,
    cursor: str | None,
    offset: int,
) -> None:
    """Review items, pending first, each titled with its runbook and request, its size, target and batch.

    A page at a time: the command that prints the next page is printed after each (on standard error).
    """
    from ..service.queue import check_batch, review_queue
    from ..service.views import QueueQuery
    from ..service.views import as_json as json_of

    services = open_read_services()
    if batch is not None:
        check_batch(services, batch)  # an unknown batch is bad input, not an empty list
    query = QueueQuery(status, batch, runbook, requester, newest, limit, offset, cursor=cursor)
    page = review_queue(services, query)
    if as_json:
        emit_json(json_of(page.items))
    elif not page.items:
        click.echo("the review queue is empty" if not page.total else f"no items past the first {page.total}")
    else:
        rows = [
            (
                item.id,
                item.status,
                item.age,
                f"{item.runbook}: {item.title}",
                item.requester,
                item.size,
                item.batch or "",
            )
            for item in page.items
        ]
        echo_table(("ID", "STATUS", "AGE", "TITLE", "REQUESTER", "SIZE", "BATCH"), rows, right=("AGE",))
        if len(page.items) < page.total:
            click.echo(f"{len(page.items)} of {page.total_text} items on this page")
    filters = [("--batch", batch), ("--status", status), ("--runbook", runbook), ("--requester", requester)]
    extra = "".join(f" {flag} {value}" for flag, value in filters if value) + (" --newest" if newest else "")
    next_page(page.next_cursor, "crewgate review list", limit if limit != 50 else None, extra)


@review.command()
@click.argument("review_id")
@click.option("--json", "as_json", is_flag=True, help="Print the item, its change list, diff, evidence and decisions.")
@click.option("--full", is_flag=True, help="Show the whole diff and every output, however long.")
def show(review_id: str, as_json: bool, full: bool) -> None:
    """A review item: every changed path, the diff, the evidence and the decisions, all from the artifact."""
    from ..service.reviews import show_review
    from ..service.views import as_json as json_of
    from ._review_text import review_lines

    services = open_services()
    view = show_review(services, review_id, full)
    if as_json:
        emit_json(json_of(view))
        return
    lines, flags = review_lines(view, full)
    click.echo(f"review {view.id} ({view.status}) for run {view.run_id}, step {view.step_id}")
    click.echo(f"artifact sha256 {view.artifact_sha256}")
    if flags:
        click.secho(
            f"⚠ escaped for display (could hide, reorder or control text): {', '.join(flags)}; "
            "the lines holding them are marked ⚠",
            fg="yellow",
        )
    for line in lines:
        click.echo(line)


def _decide(
    review_id: str,
    reviewer: str,
    decision: str,
    message: str,
    sha: str | None,
    step: str | None,
    wait: bool,
    as_json: bool,
) -> None:
    from ..service.reviews import decide
    from ..service.runs import continue_run

    services = open_services()
    result = decide(services, review_id, reviewer, decision, message, sha, step)
    click.echo(
        f"{reviewer}: {decision} recorded for {review_id} (artifact sha256 {result.artifact_sha256[:12]}); "
        f"item is {result.status}",
        err=as_json,
    )
    if not result.decided:
        raise SystemExit(Exit.WAITING)
    if not wait:
        click.echo(f"run {result.run_id} continues in `crewgate worker` (or `crewgate runs resume {result.run_id}`)")
        return
    code = continue_run(services, result.run_id, reporter(as_json))
    sys.exit(code)  # `main` leaves without joining DBOS's threads


CLUSTER = click.option(
    "--cluster",
    default=None,
    metavar="ID",
    help="Decide every pending member of this cluster (see `review clusters`) instead of one item; "
    "their runs continue in `crewgate worker`.",
)
WAIT = click.option("--no-wait", "no_wait", is_flag=True, help="Do not continue the run here; leave it to a worker.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print the continued run's events as JSON lines.")
REVIEWER = click.option("--reviewer", required=True, help="Your name, as the gate's policy knows it.")


@review.command()
@click.argument("review_id", required=False)
@REVIEWER
@click.option("-m", "--message", default="", help="Why you approve.")
@click.option("--sha256", default=None, help="The artifact sha256 you reviewed; refused if it is not the item's.")
@CLUSTER
@WAIT
@JSON
def approve(
    review_id: str | None,
    reviewer: str,
    message: str,
    sha256: str | None,
    cluster: str | None,
    no_wait: bool,
    as_json: bool,
) -> None:
    """Approve exactly this artifact; the run continues here and this exits with its exit code."""
    if _one_of(review_id, cluster, sha256=sha256) == "cluster":
        decide_cluster_command(str(cluster), reviewer, "approve", message, None, as_json)
        return
    _decide(str(review_id), reviewer, "approve", message, sha256, None, not no_wait, as_json)


@review.command()
@click.argument("review_id", required=False)
@REVIEWER
@click.option("-m", "--message", required=True, help="Why you reject.")
@CLUSTER
@WAIT
@JSON
def reject(
    review_id: str | None, reviewer: str, message: str, cluster: str | None, no_wait: bool, as_json: bool
) -> None:
    """Reject: the run ends as rejected and nothing is promoted."""
    if _one_of(review_id, cluster) == "cluster":
        decide_cluster_command(str(cluster), reviewer, "reject", message, None, as_json)
        return
    _decide(str(review_id), reviewer, "reject", message, None, None, not no_wait, as_json)


@review.command(name="request-changes")
@click.argument("review_id", required=False)
@REVIEWER
@click.option("-m", "--message", required=True, help="The feedback for the crew.")
@click.option(
    "--step", default=None, help="Earlier step to send the feedback to [default: the last task before the gate]."
)
@CLUSTER
@WAIT
@JSON
def request_changes(
    review_id: str | None,
    reviewer: str,
    message: str,
    step: str | None,
    cluster: str | None,
    no_wait: bool,
    as_json: bool,
) -> None:
    """Send feedback back to an earlier step; a new artifact and review item follow."""
    if _one_of(review_id, cluster) == "cluster":
        decide_cluster_command(str(cluster), reviewer, "request_changes", message, step, as_json)
        return
    _decide(str(review_id), reviewer, "request_changes", message, None, step, not no_wait, as_json)


def _one_of(review_id: str | None, cluster: str | None, sha256: str | None = None) -> str:
    """Which the command decides: one item (REVIEW_ID) or a cluster (--cluster); exactly one is given."""
    if (review_id is None) == (cluster is None):
        raise BadInput(
            "give a review id or --cluster ID (one of them): see `crewgate review list` and `review clusters`"
        )
    if cluster is not None and sha256 is not None:
        raise BadInput("--sha256 pins one item; a cluster decision binds each member to its own sha256: drop it")
    return "cluster" if cluster is not None else "item"


review.add_command(clusters_command)
review.add_command(cluster_command)
