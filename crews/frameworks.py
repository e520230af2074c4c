"""Choosing a run's crew framework: the one place that names both, importing the chosen one only."""

from collections.abc import Mapping
from typing import Any

from agents import CodeActMember, LLMGateway, TraceSink
from agents.trace import discard
from executors.errors import BadInput

from .base import Crew

FRAMEWORKS = ("crewai", "autogen")


def build_crew(
    framework: str,
    members: Mapping[str, CodeActMember],
    gateway: LLMGateway,
    manager_model: str,
    manager_params: Mapping[str, Any] | None = None,
    trace: TraceSink = discard,
) -> Crew:
    """The crew on `framework` (a runbook's `crew.engine`); the framework is imported only now (it is slow)."""
    if framework == "crewai":
        from .crewai_crew import CrewAICrew

        return CrewAICrew(dict(members), gateway, manager_model, dict(manager_params or {}), trace)
    if framework == "autogen":
        from .autogen_crew import AutoGenCrew

        return AutoGenCrew(dict(members), gateway, manager_model, dict(manager_params or {}), trace)
    raise BadInput(f"unknown crew engine {framework!r}: use {' or '.join(FRAMEWORKS)}")
