"""What each kind of step returns to the workflow: typed, and JSON for DBOS's checkpoints.

DBOS stores a step's return value (as JSON here: never pickle) and hands the
same value back when the workflow is replayed, so these are plain data, turned
into and out of dicts at the step boundary only.
"""

from dataclasses import asdict, dataclass, field
from typing import Self

from ..plain import JsonObject


class StepResult:
    def to_json(self) -> JsonObject:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls, data: JsonObject) -> Self:
        return cls(**data)


@dataclass(frozen=True)
class WorkDone(StepResult):
    """A task, crew or check step: its status (done or failed), output, and the workspace it left."""

    status: str
    output: str
    snapshot: str

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass(frozen=True)
class ReviewOpened(StepResult):
    """A gate step: the review item it opened and the artifact it froze."""

    review_id: str
    artifact_sha256: str
    expires_at: str | None


@dataclass(frozen=True)
class Outcome(StepResult):
    """How a review item ended: approved, rejected, changes_requested or expired."""

    decision: str
    message: str
    reviewers: list[str] = field(default_factory=list)
    target_step: str | None = None
    decided_at: str = ""


@dataclass(frozen=True)
class Promoted(StepResult):
    """A promote step: the ref it wrote, or why it wrote nothing."""

    ok: bool
    ref: str = ""
    error: str = ""
