"""The crew seam: one small interface over CrewAI and AutoGen."""

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from agents import CodeActMember, LLMGateway, TraceEvent, TraceSink
from agents.gateway import Completion
from agents.trace import discard

from .outcome import CrewOutcome, outcome_from

Coordinate = Callable[[str, list[dict[str, str]]], Completion]  # (manager or selector, messages) -> its reply


class Crew(Protocol):
    """A run's members working on tasks and goals, in one shared sandbox."""

    framework: str  # crewai or autogen: the runbook's `crew.engine`

    def run_task(self, member: str, task: str, context: str = "", max_turns: int | None = None) -> CrewOutcome:
        """One member works on `task`."""
        ...

    def run_crew(
        self, goal: str, process: str, members: list[str] | None = None, context: str = "", max_rounds: int = 1
    ) -> CrewOutcome:
        """The members work on `goal` together under `process`."""
        ...


class CrewBase:
    """What both frameworks' crews hold: the run's members, its gateway, and the model of a manager/selector.

    A member's turns are traced by its own loop; the calls a framework makes to
    coordinate them (crewAI's hierarchical manager, AutoGen's selector) go through
    `coordinate`, which traces each one too, so every model call of a run is in its trace.
    """

    def __init__(
        self,
        members: dict[str, CodeActMember],
        gateway: LLMGateway,
        manager_model: str,
        manager_params: dict[str, Any],
        trace: TraceSink = discard,
    ) -> None:
        self.members = members
        self.gateway = gateway
        self.manager_model = manager_model
        self.manager_params = manager_params
        self.trace = trace

    def coordinate(self, member: str, messages: list[dict[str, str]]) -> Completion:
        """A manager's or selector's model call, through the run's gateway, traced as a `coordinate` turn.

        Its turn number is the gateway's count of the member's calls in this step try, as in the reply log.
        """
        completion = self.gateway.complete(self.manager_model, messages, self.manager_params, member=member)
        self.trace(
            TraceEvent(
                member=member,
                turn=completion.call_index + 1,
                model=self.manager_model,
                messages=messages,
                reply=completion.text,
                code=(),
                results=(),
                observation="",
                usage=completion.usage,
                llm_latency_s=completion.latency_s,
                exec_duration_s=0.0,
                status="coordinate",
                note="replayed from the run's reply log" if completion.replayed else "",
                response_model=completion.response_model,
                spans={"chat": completion.span_id} if completion.span_id else {},
            )
        )
        return completion

    def run_task(self, member: str, task: str, context: str = "", max_turns: int | None = None) -> CrewOutcome:
        """One member on one task: its own CodeAct loop, with no framework in between.

        A framework adds nothing to one member's work, and importing one takes seconds
        (crewAI about 5 s): a run of task steps only never loads it.
        """
        with self.turns(member, max_turns) as chosen:
            result = chosen.run(task, context)
        if result.status != "done":
            return outcome_from(f"[{member} stopped: {result.status}: {result.message}]", [result])
        return outcome_from(result.final_answer, [result])

    @contextlib.contextmanager
    def turns(self, member: str, max_turns: int | None) -> Iterator[CodeActMember]:
        """The member, with a step's `max_turns` in force for the duration."""
        chosen = self.members[member]
        saved = chosen.max_turns
        chosen.max_turns = max_turns or saved
        try:
            yield chosen
        finally:
            chosen.max_turns = saved
