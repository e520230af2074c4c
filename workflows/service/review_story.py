"""The story around a review item: what was asked, where approving writes, its earlier rounds, its steps.

A diff alone does not let a reviewer decide: GitHub's review page shows the
request, the target branch and the earlier rounds beside it, and so does this.
Everything here comes from the records and the run's pinned runbook, never from
text the crew wrote (except the step outputs' verdict lines, which are quoted).
An earlier round of the same gate is compared with this one by the bytes of the
two artifacts: "unchanged" only when the sha256 is the same.
"""

import difflib
from dataclasses import replace
from typing import Protocol

from ..artifacts.artifact import Artifact, read_artifact, workspace_entries
from ..artifacts.gitdiff import Entry
from ..errors import RunError, StoreCorrupt
from ..runbook.schema import Runbook
from ..runs.variables import template_variables
from ..store.blobs import Blobs
from ..store.records import Records
from ..store.rows import ReviewRecord, StepRecord
from ..targets.words import target_words
from .story_views import ItemStory, RoundView, StepGlance, masked_inputs
from .verdicts import verdict_line


class OpenedItem(Protocol):
    """What a story reads of its review item: a ReviewRecord, or the ReviewView already made from one."""

    @property
    def id(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def step_id(self) -> str: ...
    @property
    def artifact_sha256(self) -> str: ...
    @property
    def created_at(self) -> str: ...


def item_story(records: Records, blobs: Blobs, item: OpenedItem, book: Runbook | str, paths: int | None) -> ItemStory:
    """The story of review item `item` of a run pinned to `book` (or why its runbook cannot be read now: the
    target is then unknown, said so); `paths` is how many paths its artifact changes."""
    run = records.run(item.run_id)
    earlier = [found for found in _rounds(records, item) if found.id != item.id]
    variables = template_variables(records, run.id, {})
    return ItemStory(
        runbook=f"{run.runbook}@{run.version}",
        request=masked_inputs(run.inputs),
        target=target_words(book, item.step_id, variables, paths) if isinstance(book, Runbook) else unknown(book),
        batch=run.batch_id,
        schedule=run.schedule,
        round=len(earlier) + 1,
        rounds=tuple(_round(blobs, number, found, item, records) for number, found in enumerate(earlier, 1)),
        steps=_glance(records, item, book),
    )


def unknown(problem: str) -> str:
    """The target of an item whose pinned runbook does not load on this machine (a model file moved, say)."""
    return f"unknown here: the run's runbook does not load ({problem})"


def _rounds(records: Records, item: OpenedItem) -> list[ReviewRecord]:
    """The items of the item's gate in this run up to the item itself, in the order they were opened."""
    same_gate = [found for found in records.reviews_of_run(item.run_id) if found.step_id == item.step_id]
    ordered = sorted(same_gate, key=_attempt)
    return ordered[: ordered.index(next(found for found in ordered if found.id == item.id)) + 1]


def _attempt(item: ReviewRecord) -> tuple[int, str]:
    """An item id is RUN-STEP-ATTEMPT: the gate's attempt orders its rounds (timestamps can tie)."""
    suffix = item.id.rsplit("-", 1)[-1]
    return (int(suffix) if suffix.isdigit() else 0, item.created_at)


def _round(blobs: Blobs, number: int, earlier: ReviewRecord, item: OpenedItem, records: Records) -> RoundView:
    decisions = tuple(records.decisions(earlier.id))
    same = earlier.artifact_sha256 == item.artifact_sha256
    shown = RoundView(
        number, earlier.id, earlier.status, earlier.artifact_sha256, earlier.created_at, decisions, same, 0, 0
    )
    if same:
        return shown
    try:
        before = read_artifact(blobs.get(earlier.artifact_sha256))
        after = read_artifact(blobs.get(item.artifact_sha256))
        base = workspace_entries(blobs.get(after.base_snapshot))
    except (RunError, StoreCorrupt) as exc:
        return replace(shown, problem=str(exc))
    added, removed = line_changes(before, after, base)
    return replace(shown, added=added, removed=removed)


def line_changes(before: Artifact, after: Artifact, base: dict[str, Entry]) -> tuple[int, int]:
    """Lines added and removed going from the tree `before` approves to the tree `after` approves (same base)."""
    paths = {change.path for change in (*before.changes, *after.changes)}
    added = removed = 0
    for path in sorted(paths):
        old, new = _lines(before, base, path), _lines(after, base, path)
        if old == new:
            continue
        for line in difflib.unified_diff(old, new, lineterm="", n=0):
            if line.startswith(("+++", "---")):
                continue
            added += line.startswith("+")
            removed += line.startswith("-")
    return added, removed


def _lines(artifact: Artifact, base: dict[str, Entry], path: str) -> list[str]:
    if path in artifact.files:
        entry: Entry | None = artifact.files[path]
    elif path in artifact.deleted:
        entry = None
    else:
        entry = base.get(path)
    return entry.data.decode(errors="replace").split("\n") if entry is not None else []


def _glance(records: Records, item: OpenedItem, book: Runbook | str) -> tuple[StepGlance, ...]:
    """The work steps before the gate as they stood when the item was opened: last try's status and verdict."""
    rows = [row for row in records.steps(item.run_id) if row.started_at <= item.created_at]
    ids = [step.id for step in book.steps] if isinstance(book, Runbook) else [row.step_id for row in rows]
    before_gate = list(dict.fromkeys(ids[: ids.index(item.step_id)] if item.step_id in ids else ids))
    tries: dict[str, list[StepRecord]] = {}
    for row in rows:
        if row.step_id in before_gate and row.kind in ("task", "crew", "check"):
            tries.setdefault(row.step_id, []).append(row)
    glance = []
    for step_id in before_gate:
        if step_id in tries:
            last = max(tries[step_id], key=lambda row: row.attempt)
            glance.append(StepGlance(step_id, last.kind, last.status, len(tries[step_id]), verdict_line(last.output)))
    return tuple(glance)
