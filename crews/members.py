"""Building a run's crew members from a runbook's `crew:` section."""

from collections.abc import Callable, Mapping
from typing import Any

from agents import CodeActMember, LLMGateway, TraceSink
from agents.tools import MemberTools
from agents.trace import discard
from executors import Sandbox


def build_members(
    specs: Mapping[str, Any],
    sandbox: Sandbox,
    gateway: LLMGateway,
    default_model: str,
    default_params: Mapping[str, Any] | None = None,
    trace: TraceSink = discard,
    tools: Callable[[str], MemberTools | None] | None = None,
) -> dict[str, CodeActMember]:
    """One CodeActMember per spec, all on the same sandbox and gateway.

    `specs` maps a member name to a `MemberSpec` (role, goal, model, model_params, max_turns);
    `tools` gives a member's share of the run's tools by its name.
    """
    members = {}
    for name, spec in specs.items():
        params = {**(default_params or {}), **spec.model_params}
        members[name] = CodeActMember(
            name,
            spec.role or name,
            spec.model or default_model,
            sandbox,
            goal=spec.goal,
            max_turns=spec.max_turns,
            model_params=params,
            gateway=gateway,
            trace=trace,
            tools=tools(name) if tools else None,
        )
    return members
