"""The crew seam: one small interface over CrewAI and AutoGen."""

from collections.abc import Mapping
from typing import Any, Protocol

from agents import CodeActMember, LLMGateway

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
    raise ValueError(f"unknown crew engine {engine!r}: use {' or '.join(ENGINES)}")
