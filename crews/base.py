"""The crew seam: one small interface over CrewAI and AutoGen."""

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from agents import CodeActMember, LLMGateway
from executors.errors import BadInput

from .outcome import CrewOutcome

ENGINES = ("crewai", "autogen")


class Crew(Protocol):
    """A run's members working on tasks and goals, in one shared sandbox."""

    engine: str

    def run_task(self, member: str, task: str, context: str = "", max_turns: int | None = None) -> CrewOutcome:
        """One member works on `task`."""
        ...

    def run_crew(
        self, goal: str, process: str, members: list[str] | None = None, context: str = "", max_rounds: int = 1
    ) -> CrewOutcome:
        """The members work on `goal` together under `process`."""
        ...


class EngineBase:
    """What both engines hold: the run's members, its gateway, and the model of a manager/selector."""

    def __init__(
        self, members: dict[str, CodeActMember], gateway: LLMGateway, manager_model: str, manager_params: dict[str, Any]
    ) -> None:
        self.members = members
        self.gateway = gateway
        self.manager_model = manager_model
        self.manager_params = manager_params

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


def build_crew(
    engine: str,
    members: Mapping[str, CodeActMember],
    gateway: LLMGateway,
    manager_model: str,
    manager_params: Mapping[str, Any] | None = None,
) -> Crew:
    """The crew for `engine`; its framework is imported only now (it is slow to import)."""
    if engine == "crewai":
        from .crewai_engine import CrewAICrew

        return CrewAICrew(dict(members), gateway, manager_model, dict(manager_params or {}))
    if engine == "autogen":
        from .autogen_engine import AutoGenCrew

        return AutoGenCrew(dict(members), gateway, manager_model, dict(manager_params or {}))
    raise BadInput(f"unknown crew engine {engine!r}: use {' or '.join(ENGINES)}")
