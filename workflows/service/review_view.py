"""What a reviewer is shown: one function the CLI (and later the web) renders.

The change list and the diff come from the artifact itself, read and verified
against its sha256, never from a copy: what is shown is what approval promotes.
The change list is always complete; the diff may be cut for size, only ever at
a visible marker that says how much is hidden and how to see all of it.
"""

from dataclasses import replace

from ..artifacts.artifact import STATUSES, read_listing
from ..errors import RunError, StoreCorrupt
from ..store.blobs import Blobs
from ..store.records import Records
from .views import ReviewView

DIFF_LIMIT = 200_000
FILE_HEADER = "diff --git "


def review_view(records: Records, blobs: Blobs, review_id: str, diff_limit: int | None = DIFF_LIMIT) -> ReviewView:
    """The review item with its artifact's change list and diff (NotFound for an unknown id)."""
    item = records.review(review_id)
    run = records.run(item.run_id)
    shown = ReviewView(
        id=item.id,
        run_id=item.run_id,
        step_id=item.step_id,
        status=item.status,
        artifact_sha256=item.artifact_sha256,
        policy=item.policy,
        requester=item.requester,
        created_at=item.created_at,
        expires_at=item.expires_at,
        closed_at=item.closed_at,
        evidence=item.evidence,
        decisions=tuple(records.decisions(review_id)),
        image=run.image,
        image_id=run.image_id,
        runtime=run.runtime,
    )
    try:
        artifact = read_listing(blobs.get(item.artifact_sha256))
    except (RunError, StoreCorrupt) as exc:
        if run.pruned:
            at = run.pruned.get("at")
            gone = f"the artifact's bytes were pruned on {at} (`crewgate runs prune`); its sha256 is kept"
            return replace(shown, artifact_problem=gone)
        return replace(shown, artifact_problem=str(exc))
    diff, cut = cut_diff(artifact.diff, diff_limit, review_id)
    return replace(
        shown,
        base_snapshot=artifact.base_snapshot,
        changes=artifact.changes,
        summary={status: sum(c.status == status for c in artifact.changes) for status in STATUSES},
        flags=tuple(sorted({flag for change in artifact.changes for flag in change.flags})),
        diff=diff,
        diff_truncated=cut,
        diff_chars=len(artifact.diff),
        diff_files=artifact.diff.count("\n" + FILE_HEADER) + artifact.diff.startswith(FILE_HEADER),
    )


def cut_diff(diff: str, limit: int | None, review_id: str) -> tuple[str, bool]:
    """The diff, whole files at a time, up to `limit` characters; past it, a marker counting what is hidden.

    A file header can only start a line ("diff --git "): content lines start with
    ' ', '+' or '-', and names with newlines are quoted.
    """
    if limit is None or len(diff) <= limit:
        return diff, False
    chunks = _file_chunks(diff)
    kept: list[str] = []
    size = 0
    for chunk in chunks:
        if size + len(chunk) > limit:
            break
        kept.append(chunk)
        size += len(chunk)
    partial = "" if kept else chunks[0][:limit]  # one file's diff alone is over the limit
    size += len(partial)
    hidden = len(chunks) - len(kept)
    marker = (
        f"\n[crewgate: the diff is cut here: {size} of {len(diff)} characters shown; the diffs of {hidden} of "
        f"{len(chunks)} files are not shown{' (the first of them only in part)' if partial else ''}. Every changed "
        f"path is in the change list. See all of it: crewgate review show {review_id} --full]\n"
    )
    return "".join(kept) + partial + marker, True


def _file_chunks(diff: str) -> list[str]:
    starts = [0]
    found = diff.find("\n" + FILE_HEADER)
    while found != -1:
        starts.append(found + 1)
        found = diff.find("\n" + FILE_HEADER, found + 1)
    return [diff[start:end] for start, end in zip(starts, [*starts[1:], len(diff)], strict=True)]
