"""Trace events: what a member sent, got back, ran and saw, turn by turn.

Members emit events to a sink passed in; storing and showing them is the
caller's business (a later layer writes them to the run's database).
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .usage import Usage


@dataclass(frozen=True)
class TraceEvent:
    """One member turn. `messages` is exactly what the model was sent (never API keys).

    `reply` is the reply without its reasoning; `note` is the correction sent back when the reply had nothing to act on.
    """

    member: str
    turn: int
    model: str
    messages: list[dict[str, str]]
    reply: str
    code: tuple[str, ...]
    results: tuple[dict[str, Any], ...]
    observation: str
    usage: Usage
    llm_latency_s: float
    exec_duration_s: float
    elided_turns: int = 0
    status: str = "turn"
    note: str = ""
    reasoning: str = ""  # the model's reasoning: kept here, never run, never sent back in later prompts
    finish_reason: str | None = None
    response_model: str = ""  # the model that answered, as the provider named it
    # The ids (hex) of the spans this turn was exported in: "agent", "chat", "cells"; none without telemetry.
    # A trace rebuilt from the records (`runs trace --format otlp-json`) reuses them.
    spans: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["usage"] = {**asdict(self.usage), "total_tokens": self.usage.total_tokens}
        return data


TraceSink = Callable[[TraceEvent], None]


@dataclass
class ListSink:
    """A sink that keeps events in memory."""

    events: list[TraceEvent] = field(default_factory=list)

    def __call__(self, event: TraceEvent) -> None:
        self.events.append(event)


def discard(event: TraceEvent) -> None:
    """The sink for callers that keep no trace."""
