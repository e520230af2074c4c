"""Choosing a run's crew framework: the one place that names both, importing the chosen one only when needed."""

from collections.abc import Mapping
from typing import Any

from agents import CodeActMember, LLMGateway, TraceSink
from agents.trace import discard
from executors.errors import BadInput

from .base import Crew, CrewBase
from .outcome import CrewOutcome

FRAMEWORKS = ("crewai", "autogen")


class FrameworkCrew(CrewBase):
    """A run's crew on `framework`: task steps run their member directly (CrewBase.run_task); the framework,
    seconds to import, is loaded at the run's first crew step, and only then."""

    def __init__(
        self,
        framework: str,
        members: dict[str, CodeActMember],
        gateway: LLMGateway,
        manager_model: str,
        manager_params: dict[str, Any],
        trace: TraceSink = discard,
    ) -> None:
        if framework not in FRAMEWORKS:
            raise BadInput(f"unknown crew engine {framework!r}: use {' or '.join(FRAMEWORKS)}")
        super().__init__(members, gateway, manager_model, manager_params, trace)
        self.framework = framework
        self._loaded: Crew | None = None

    def run_crew(
        self, goal: str, process: str, members: list[str] | None = None, context: str = "", max_rounds: int = 1
    ) -> CrewOutcome:
        return self._on_framework().run_crew(goal, process, members, context, max_rounds)

    def _on_framework(self) -> Crew:
        if self._loaded is None:
            arguments = (self.members, self.gateway, self.manager_model, self.manager_params, self.trace)
            if self.framework == "crewai":
                from .crewai_crew import CrewAICrew

                self._loaded = CrewAICrew(*arguments)
            else:
                from .autogen_crew import AutoGenCrew

                self._loaded = AutoGenCrew(*arguments)
        return self._loaded


def build_crew(
    framework: str,
    members: Mapping[str, CodeActMember],
    gateway: LLMGateway,
    manager_model: str,
    manager_params: Mapping[str, Any] | None = None,
    trace: TraceSink = discard,
) -> Crew:
    """The crew on `framework` (a runbook's `crew.engine`); the framework itself is imported at its first crew step."""
    return FrameworkCrew(framework, dict(members), gateway, manager_model, dict(manager_params or {}), trace)
