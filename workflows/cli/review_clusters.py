"""`crewgate review clusters`, `review cluster` and `--cluster` decisions: a batch's same change at once."""

import click

from executors.errors import Exit

from ._display import one_line
from ._output import emit_json, open_services
from ._table import echo_table


def decide_cluster_command(
    cluster: str, reviewer: str, decision: str, message: str, step: str | None, as_json: bool
) -> None:
    from ..service.clusters import decide_cluster
    from ..service.views import as_json as json_of

    done = decide_cluster(open_services(), cluster, reviewer, decision, message, step)
    if as_json:
        emit_json(json_of(done))
    else:
        for result in done.decided:
            sha = result.artifact_sha256[:12]
            click.echo(
                f"{reviewer}: {decision} recorded for {result.review_id} (artifact sha256 {sha}); {result.status}"
            )
        for skipped in done.skipped:
            click.echo(f"left undecided: {skipped.review_id}: {one_line(skipped.reason)}")
        click.echo(
            f"{len(done.decided)} of {len(done.decided) + len(done.skipped)} member(s) decided; "
            "their runs continue in `crewgate worker`"
        )
    if done.skipped:
        raise SystemExit(Exit.FAILED)


@click.command(name="clusters")
@click.option("--batch", default=None, metavar="ID", help="Only this batch's clusters.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (id, batch, items, representative, ...).")
def clusters_command(batch: str | None, as_json: bool) -> None:
    """A batch's pending items that make the same change (context and base set aside), grouped: decide each
    group with `review approve --cluster ID` (each member bound to its own sha256)."""
    from ..service.clusters import list_clusters
    from ..service.queue import check_batch
    from ..service.views import as_json as json_of

    services = open_services()
    if batch is not None:
        check_batch(services, batch)
    found = list_clusters(services, batch)
    if as_json:
        emit_json(json_of(found))
        return
    if not found:
        click.echo("no clusters: two or more pending items of one batch that make the same change form one")
        return
    rows = [
        (
            item.id,
            item.items,
            f"{item.runbook}: {item.title}",
            f"+{item.lines_added} −{item.lines_removed}" if item.lines_added is not None else "",
            item.representative,
        )
        for item in found
    ]
    echo_table(("CLUSTER", "ITEMS", "TITLE", "SIZE", "REPRESENTATIVE"), rows, right=("ITEMS",))


@click.command(name="cluster")
@click.argument("cluster")
@click.option("--json", "as_json", is_flag=True, help="Print the cluster: representative item, members, others.")
def cluster_command(cluster: str, as_json: bool) -> None:
    """A cluster: its representative's diff, each member identical or on another base, and the batch's other
    pending items with what differs in their change."""
    from ..service.clusters import show_cluster
    from ..service.views import as_json as json_of
    from ._review_text import cluster_lines

    view = show_cluster(open_services(), cluster)
    if as_json:
        emit_json(json_of(view))
        return
    for line in cluster_lines(view):
        click.echo(line)
