"""A batch's pending review items grouped by change key (artifacts.change_key): the clusters a reviewer
decides at once. Only pending items of a batch with a key form clusters, and only two or more of them.

SQL text on a `Reader` (store/reading.py): the queue leaves clusters out with the same grouping.
"""

from dataclasses import dataclass

from .reading import Reader


@dataclass(frozen=True)
class ClusterRow:
    batch_id: str
    change_key: str
    items: int
    first_created: str


def pending_clusters(reader: Reader, batch: str | None = None) -> list[ClusterRow]:
    """Every cluster of two or more pending items (of one batch), oldest first."""
    sums = ", COUNT(*) AS items, MIN(crewgate_reviews.created_at) AS first_created"
    found = reader.rows(
        clustered(columns=sums, where=" AND crewgate_runs.batch_id = :batch" if batch is not None else "")
        + " ORDER BY first_created",
        {"batch": batch} if batch is not None else {},
    )
    return [ClusterRow(row["batch_id"], row["change_key"], int(row["items"]), row["first_created"]) for row in found]


def clustered(aliased: bool = False, columns: str = "", where: str = "") -> str:
    """SQL: (batch id, change key) of every cluster, the one grouping the cluster list and the queue's
    leaving-out both use; `columns` and `where` add to it. `aliased` reads the tables under other names,
    for a subquery of a query over them."""
    items, its_runs = ("clustered", "clustered_runs") if aliased else ("crewgate_reviews", "crewgate_runs")
    tables = f"crewgate_reviews AS {items} JOIN crewgate_runs AS {its_runs}" if aliased else f"{items} JOIN {its_runs}"
    return (
        f"SELECT {its_runs}.batch_id, {items}.change_key{columns} FROM {tables} ON {its_runs}.id = {items}.run_id"  # noqa: S608
        f" WHERE {items}.status = 'pending' AND {items}.change_key IS NOT NULL AND {its_runs}.batch_id IS NOT NULL"
        f"{where} GROUP BY {its_runs}.batch_id, {items}.change_key HAVING COUNT(*) > 1"
    )


@dataclass(frozen=True)
class PendingItem:
    id: str
    change_key: str | None
    lines_added: int | None
    lines_removed: int | None
    paths: int | None


def batch_pending_items(reader: Reader, batch: str) -> list[PendingItem]:
    """The batch's pending items, oldest first, each with its change key and size."""
    found = reader.rows(
        "SELECT crewgate_reviews.id, change_key, lines_added, lines_removed, paths"
        " FROM crewgate_reviews JOIN crewgate_runs ON crewgate_runs.id = crewgate_reviews.run_id"
        " WHERE crewgate_runs.batch_id = :batch AND crewgate_reviews.status = 'pending'"
        " ORDER BY crewgate_reviews.created_at, crewgate_reviews.id",
        {"batch": batch},
    )
    return [
        PendingItem(row["id"], row["change_key"], row["lines_added"], row["lines_removed"], row["paths"])
        for row in found
    ]
