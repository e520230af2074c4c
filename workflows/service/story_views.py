"""What a review item's story holds (service/review_story.py tells it), as plain values.

Kept apart from the telling so the views every read command returns can name them
without importing what tells a story (the runbook schema, the artifact reader).
"""

from dataclasses import dataclass

from ..plain import Json, JsonObject
from ..store.rows import Decision


@dataclass(frozen=True)
class RoundView:
    """An earlier round of the same gate, and how this item's artifact differs from it."""

    number: int
    review_id: str
    status: str
    artifact_sha256: str
    created_at: str
    decisions: tuple[Decision, ...]  # the feedback that round got
    unchanged: bool  # this item's artifact is byte for byte that round's (same sha256)
    added: int  # lines added since that round (0 when unchanged)
    removed: int
    problem: str | None = None  # why the two artifacts could not be compared

    @property
    def since(self) -> str:
        """How this item's artifact compares: "artifact unchanged since round 1", or "changed: +3 −1 lines ..."."""
        if self.unchanged:
            return f"artifact unchanged since round {self.number}"
        if self.problem:
            return f"artifact changed since round {self.number} (cannot count the lines: {self.problem})"
        return f"changed: +{self.added} −{self.removed} lines since round {self.number}"


@dataclass(frozen=True)
class StepGlance:
    """A step before the gate at a glance: its last try's status and verdict line."""

    id: str
    kind: str
    status: str
    tries: int
    verdict: str


@dataclass(frozen=True)
class ItemStory:
    """What a reviewer needs beside the diff (README: "The review queue")."""

    runbook: str  # NAME@VERSION
    request: dict[str, Json]  # the run's inputs; an input named like a secret shows "***"
    target: str  # where approving writes, in words
    batch: str | None
    schedule: str | None
    round: int  # this item's round at its gate: 1, then 2 after a change request, ...
    rounds: tuple[RoundView, ...]  # the earlier rounds, oldest first
    steps: tuple[StepGlance, ...]

    @property
    def failing(self) -> tuple[StepGlance, ...]:
        """Steps whose last try before this item failed (a check that did not pass, say)."""
        return tuple(step for step in self.steps if step.status == "failed")


def masked_inputs(inputs: JsonObject) -> JsonObject:
    """`inputs` with the text value of each input named like a secret (api_token, ...) replaced by "***"."""
    from agents.secret_names import is_secret_name

    return {
        name: "***" if is_secret_name(name) and isinstance(value, str) and value.strip() else value
        for name, value in inputs.items()
    }
