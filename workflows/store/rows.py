"""Stored rows as frozen dataclasses: a renamed column is a type error, not a KeyError at run time.

Each record is made from its table's row in one place (`from_row`), which is also
the one place its JSON columns are decoded.
"""

import datetime
import json
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Self

from ..errors import StoreCorrupt
from ..plain import Json, JsonObject, Row

TERMINAL = frozenset({"promoted", "completed", "failed", "rejected", "cancelled"})  # the statuses of an ended run
DONE = frozenset({"promoted", "completed"})
FAILED = frozenset({"failed", "rejected"})


def parse_time(text: str) -> datetime.datetime:
    """A time as the tables keep it (clock.stamp), read back."""
    return datetime.datetime.fromisoformat(text)


def tally_counts(by_status: dict[str, int]) -> dict[str, int]:
    """Runs counted by status, as a person counts them: done, waiting for review, failed, cancelled, running,
    queued."""
    counts = dict.fromkeys(("done", "waiting", "failed", "cancelled", "running", "queued"), 0)
    for status, count in by_status.items():
        if status in DONE:
            counts["done"] += count
        elif status in FAILED:
            counts["failed"] += count
        elif status in counts:
            counts[status] += count
    return counts


class SameColumns:
    """A record whose fields are its table's (or query's) columns one to one, none of them JSON."""

    @classmethod
    def from_row(cls, row: Row) -> Self:
        return cls(**row)


@dataclass(frozen=True)
class RunRecord:
    """A run as `crewgate_runs` holds it (tables.runs)."""

    id: str
    runbook: str
    version: str
    sha256: str  # of the runbook content the run is pinned to
    inputs: dict[str, Json]
    models: dict[str, str]  # member -> model, as the run was prepared
    image: str
    image_id: str | None
    requester: str
    status: str
    message: str
    base_commit: str | None
    base_snapshot: str | None
    created_at: str
    updated_at: str
    batch_id: str | None
    schedule: str | None
    hosted_by: str | None  # the executor id of the `crewgate run` that runs it, if any
    model_override: str | None  # JSON text for runbook.models.ModelOverride.from_json
    runtime: str = "runc"  # the sandbox runtime it is pinned to (executors.runtimes)
    pruned: dict[str, Json] | None = None  # when and what `runs prune` removed of it (store.retention)

    @classmethod
    def from_row(cls, row: Row) -> "RunRecord":
        return cls(
            id=row["id"],
            runbook=row["runbook"],
            version=row["version"],
            sha256=row["sha256"],
            inputs=json.loads(row["inputs"]),
            models=json.loads(row["models"]),
            image=row["image"],
            image_id=row["image_id"],
            requester=row["requester"],
            status=row["status"],
            message=row["message"],
            base_commit=row["base_commit"],
            base_snapshot=row["base_snapshot"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            batch_id=row["batch_id"],
            schedule=row["schedule"],
            hosted_by=row["hosted_by"],
            model_override=row["model_override"],
            runtime=row["runtime"],
            pruned=json.loads(row["pruned"]) if row["pruned"] else None,
        )

    @property
    def snapshot(self) -> str:
        """The blob of the run's base tree, recorded before its first step: every run past it has one."""
        if self.base_snapshot is None:
            raise StoreCorrupt(f"run {self.id} has no recorded base tree")
        return self.base_snapshot

    @property
    def commit(self) -> str:
        """The commit the run's workspace was at, for a git target: recorded with the base tree."""
        if self.base_commit is None:
            raise StoreCorrupt(f"run {self.id} has no recorded base commit: its workspace is not a git repository")
        return self.base_commit


@dataclass(frozen=True)
class StepRecord:
    """One try of one step of a run (tables.steps)."""

    run_id: str
    step_id: str
    attempt: int
    kind: str
    status: str
    output: str
    usage: dict[str, Json]
    started_at: str
    finished_at: str | None

    @classmethod
    def from_row(cls, row: Row) -> "StepRecord":
        return cls(
            run_id=row["run_id"],
            step_id=row["step_id"],
            attempt=row["attempt"],
            kind=row["kind"],
            status=row["status"],
            output=row["output"],
            usage=json.loads(row["usage"] or "{}"),
            started_at=row["started_at"],
            finished_at=row["finished_at"],
        )


@dataclass(frozen=True)
class TraceRecord:
    """One turn of one member, as recorded (tables.trace); `data` is the member's TraceEvent as JSON."""

    id: int
    run_id: str
    step_id: str
    attempt: int
    member: str
    turn: int
    data: JsonObject  # the member's TraceEvent as recorded
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> "TraceRecord":
        return cls(
            id=row["id"],
            run_id=row["run_id"],
            step_id=row["step_id"],
            attempt=row["attempt"],
            member=row["member"],
            turn=row["turn"],
            data=json.loads(row["data"]),
            created_at=row["created_at"],
        )


@dataclass(frozen=True)
class ReviewRecord:
    """A review item (tables.reviews). Its policy and evidence are decoded when first read: a worker's poll
    reads many items for their status alone, and evidence can list thousands of paths."""

    id: str
    run_id: str
    step_id: str
    artifact_sha256: str
    status: str
    requester: str
    created_at: str
    expires_at: str | None
    closed_at: str | None
    policy_json: str
    evidence_json: str

    @classmethod
    def from_row(cls, row: Row) -> "ReviewRecord":
        return cls(
            id=row["id"],
            run_id=row["run_id"],
            step_id=row["step_id"],
            artifact_sha256=row["artifact_sha256"],
            status=row["status"],
            requester=row["requester"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            closed_at=row["closed_at"],
            policy_json=row["policy"],
            evidence_json=row["evidence"],
        )

    @cached_property
    def policy(self) -> dict[str, Json]:
        """The gate's policy as the item was opened (runbook.schema.GatePolicy's fields)."""
        return _object(self.policy_json)

    @property
    def required(self) -> int:
        """How many approvals the item needs (its policy's `required`)."""
        found = self.policy.get("required")
        if not isinstance(found, int) or isinstance(found, bool):
            raise StoreCorrupt(f"review {self.id} holds no number of required approvals in its policy")
        return found

    @cached_property
    def evidence(self) -> dict[str, Json]:
        """What the reviewer is shown beside the diff: checks, security verdict, blocked paths."""
        return _object(self.evidence_json)


@dataclass(frozen=True)
class QueueRecord(SameColumns):
    """A review item as the queue lists it: without its evidence, with its run's runbook and batch."""

    id: str
    run_id: str
    runbook: str
    version: str
    step_id: str
    status: str
    artifact_sha256: str
    created_at: str
    expires_at: str | None
    batch_id: str | None
    requester: str
    inputs: str  # the run's inputs as JSON text: the queue titles a row with its request
    lines_added: int | None  # None: opened before crewgate kept sizes
    lines_removed: int | None
    paths: int | None
    change_key: str | None
    target: str | None  # where approving writes, in words (targets.words); None: opened before crewgate kept it


@dataclass(frozen=True)
class PromotionRecord(SameColumns):
    """A promotion of one run's approved artifact (tables.promotions): claimed once, then done."""

    idempotency_key: str
    run_id: str
    artifact_sha256: str
    target: str
    ref: str | None
    status: str  # started, done
    created_at: str


@dataclass(frozen=True)
class TickRecord(SameColumns):
    """One tick of a schedule as recorded (tables.schedule_ticks); `run_status` only where read with its run."""

    schedule: str
    tick_at: str
    outcome: str  # queued, started, skipped, failed
    run_id: str | None
    batch_id: str | None
    detail: str
    recorded_at: str
    kind: str  # cron, trigger, backfill
    revision: int | None
    leased_by: str | None
    run_status: str | None = None


@dataclass
class GapRecord(SameColumns):
    """A range of ticks nobody fired (tables.schedule_gaps). Not frozen: a backfill counts down its copy as it
    takes ticks from the range, in the same transaction as the row."""

    id: int
    schedule: str
    first_at: str
    last_at: str
    count: int
    detail: str
    recorded_at: str
    revision: int | None


@dataclass(frozen=True)
class RunState:
    """A run's id and status: what overlap and batch progress look at."""

    id: str
    status: str


@dataclass(frozen=True)
class BatchRecord(SameColumns):
    """A batch (tables.batches); `source` is its inputs file, or the schedule that started it."""

    id: str
    runbook: str
    version: str
    concurrency: int
    source: str
    requester: str
    status: str  # open, cancelled
    created_at: str


@dataclass(frozen=True)
class BatchRunRecord:
    """One run of a batch, in the order of its file, with its newest review (id and status) if any."""

    id: str
    status: str
    message: str
    inputs: dict[str, Json]
    created_at: str
    review: str | None
    review_status: str | None


@dataclass(frozen=True)
class NewRun:
    """A run prepared to be recorded as queued (runs.create.prepare_run), its base tree already stored."""

    id: str
    runbook: str
    version: str
    sha256: str
    inputs: JsonObject
    models: dict[str, str]
    image: str
    image_id: str | None
    requester: str
    base_commit: str | None
    base_snapshot: str
    batch_id: str | None
    schedule: str | None
    hosted_by: str | None
    model_override: str | None
    runtime: str = "runc"

    def columns(self) -> dict[str, object]:
        """Its row's values, the JSON columns encoded: the one place they are."""
        values: dict[str, object] = {item.name: getattr(self, item.name) for item in fields(self)}
        return {**values, "inputs": json.dumps(self.inputs), "models": json.dumps(self.models)}


@dataclass(frozen=True)
class NewBatch:
    """A batch and its runs, prepared (snapshots stored) and not yet recorded."""

    id: str
    runbook: str
    version: str
    concurrency: int
    source: str
    requester: str
    runs: tuple[NewRun, ...]


def _object(text: str) -> JsonObject:
    """A JSON column that holds an object, as one ({} for anything else)."""
    found = json.loads(text)
    return found if isinstance(found, dict) else {}


@dataclass(frozen=True)
class Decision:
    """A reviewer's decision on a review item (tables.decisions)."""

    review_id: str
    reviewer: str
    decision: str
    message: str
    target_step: str | None
    artifact_sha256: str
    created_at: str
