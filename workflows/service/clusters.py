"""Cluster review: a batch's pending items that make the same change, decided at once (README: "The review
queue", Clusters).

A batch of forty repositories that get the same edit asks for one reading, not forty.
Items of one batch with the same change key (artifacts.change_key: the change once
context lines and the base are set aside) form a cluster; its page shows one
representative diff and, for every member, whether its diff is identical or only its
base differs. One decision is recorded on each member, each bound to that member's own
sha256 and checked against that member's own gate policy; a member the decision does
not reach (its artifact is not the one the page showed, its policy refuses the
reviewer, it was decided meanwhile) is left undecided and reported.
"""

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..artifacts.change_key import change_differences
from ..errors import BadInput, GateError, NotFound
from ..store.clusters import ClusterRow, PendingItem, batch_pending_items, pending_clusters
from .queue import request_title
from .review_view import DIFF_LIMIT, cut_diff
from .reviews import check_decision_fields, decide, show_review
from .views import DecisionResult, ReviewView

if TYPE_CHECKING:
    from ..plain import JsonObject
    from ..runs.services import RunServices

KEY_SHOWN = 16  # hex digits of the change key in a cluster id: BATCH-KEY


@dataclass(frozen=True)
class ClusterSummary:
    """One line of `review clusters`: a batch's pending items that make the same change."""

    id: str  # BATCH-KEY, what `review approve --cluster` takes
    batch: str
    items: int
    representative: str  # the oldest member's review id: its diff is the one shown
    runbook: str
    title: str
    lines_added: int | None
    lines_removed: int | None
    paths: int | None
    first_created: str


@dataclass(frozen=True)
class MemberView:
    """A member of a cluster: the same change as the representative, its diff identical or only its base other."""

    review_id: str
    run_id: str
    artifact_sha256: str
    request: "JsonObject"
    identical: bool  # the whole diff is the representative's, context and index lines too

    @property
    def relation(self) -> str:
        return "identical" if self.identical else "the same change on another base (context lines differ)"


@dataclass(frozen=True)
class OutsiderView:
    """A pending item of the same batch that makes another change: not decided with the cluster."""

    review_id: str
    run_id: str
    artifact_sha256: str
    request: "JsonObject"
    differences: tuple[str, ...]  # its change lines that differ: "+ line" it has, "- line" it lacks


@dataclass(frozen=True)
class ClusterView:
    """A cluster's page (`review cluster`): the representative item, its members, and the batch's others."""

    id: str
    batch: str
    representative: ReviewView
    members: tuple[MemberView, ...]
    others: tuple[OutsiderView, ...]


@dataclass(frozen=True)
class SkippedItem:
    review_id: str
    reason: str


@dataclass(frozen=True)
class ClusterDecision:
    """What one decision on a cluster did: a decision on each member it reached, and why it left the others."""

    cluster: str
    decision: str
    decided: tuple[DecisionResult, ...]
    skipped: tuple[SkippedItem, ...]


def cluster_id(row: ClusterRow) -> str:
    return f"{row.batch_id}-{row.change_key[:KEY_SHOWN]}"


def list_clusters(services: "RunServices", batch: str | None = None) -> list[ClusterSummary]:
    """Every cluster of two or more pending items (of one batch), oldest first."""
    pending: dict[str, list[PendingItem]] = {}  # each batch's pending items, read once for all its clusters
    found = []
    for row in pending_clusters(services.reader, batch):
        if row.batch_id not in pending:
            pending[row.batch_id] = batch_pending_items(services.reader, row.batch_id)
        members = [item for item in pending[row.batch_id] if item.change_key == row.change_key]
        found.append(_summary(services, row, members[0]))
    return found


def show_cluster(services: "RunServices", cluster: str) -> ClusterView:
    """The cluster's representative item, every member's relation to it, and the batch's other pending items."""
    row, members = _members(services, cluster)
    views = [show_review(services, member.id, full=True) for member in members]
    first = views[0]
    shown = tuple(
        MemberView(view.id, view.run_id, view.artifact_sha256, _request(view), view.diff == first.diff)
        for view in views
    )
    others = []
    for pending in batch_pending_items(services.reader, row.batch_id):
        if pending.change_key != row.change_key:
            other = show_review(services, pending.id, full=True)
            differences = tuple(change_differences(first.diff, other.diff))
            others.append(OutsiderView(other.id, other.run_id, other.artifact_sha256, _request(other), differences))
    diff, cut = cut_diff(first.diff, DIFF_LIMIT, first.id)  # the page shows it as an item page would
    return ClusterView(cluster, row.batch_id, replace(first, diff=diff, diff_truncated=cut), shown, tuple(others))


def decide_cluster(
    services: "RunServices",
    cluster: str,
    reviewer: str,
    decision: str,
    message: str = "",
    step: str | None = None,
    shown: dict[str, str] | None = None,
) -> ClusterDecision:
    """Record `decision` on each member of `cluster`, each bound to its own sha256; report the members left.

    `shown` is what the deciding page showed (review id -> sha256): a member not on it, or whose artifact
    is not the one it showed, is left undecided. Without it (the CLI) each member's own sha256 is used.
    """
    check_decision_fields(decision, message, step)  # one refusal for all, before anything is recorded
    _, members = _members(services, cluster)
    member_ids = [member.id for member in members]
    decided, skipped = [], []
    for review_id in member_ids:
        sha = services.records.review(review_id).artifact_sha256
        if shown is not None and shown.get(review_id) != sha:
            why = "it was not on the page you decided from" if review_id not in shown else "its artifact differs"
            skipped.append(SkippedItem(review_id, f"{why}: left undecided, review it on its own"))
            continue
        try:
            decided.append(decide(services, review_id, reviewer, decision, message, sha, step))
        except (GateError, BadInput) as exc:
            skipped.append(SkippedItem(review_id, str(exc)))
    for review_id in sorted(set(shown or {}) - set(member_ids)):
        skipped.append(SkippedItem(review_id, "no longer a pending member of this cluster: left as it is"))
    return ClusterDecision(cluster, decision, tuple(decided), tuple(skipped))


def _members(services: "RunServices", cluster: str) -> tuple[ClusterRow, list[PendingItem]]:
    """The cluster's row and its pending members, oldest first (NotFound when it has none)."""
    batch, _, key = cluster.rpartition("-")
    if not batch or len(key) != KEY_SHOWN:
        raise BadInput(f"{cluster!r} is not a cluster id (BATCH-KEY): see `crewgate review clusters`")
    items = [
        found
        for found in batch_pending_items(services.reader, batch)
        if found.change_key is not None and found.change_key.startswith(key)
    ]
    if not items:
        raise NotFound(f"no pending cluster {cluster!r}: see `crewgate review clusters`")
    key = str(items[0].change_key)  # the whole key: two keys sharing the id's 16 digits are not one cluster
    items = [found for found in items if found.change_key == key]
    return ClusterRow(batch, key, len(items), ""), items


def _summary(services: "RunServices", row: ClusterRow, first: PendingItem) -> ClusterSummary:
    """One line of `review clusters`; `first` is the cluster's oldest member, its representative."""
    run = services.records.run(services.records.review(first.id).run_id)
    return ClusterSummary(
        cluster_id(row),
        row.batch_id,
        row.items,
        first.id,
        f"{run.runbook}@{run.version}",
        request_title(run.inputs),
        first.lines_added,
        first.lines_removed,
        first.paths,
        row.first_created,
    )


def _request(view: ReviewView) -> "JsonObject":
    return view.story.request if view.story is not None else {}
