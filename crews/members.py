"""Building a run's crew members from a runbook's `crew:` section."""

from collections.abc import Mapping
from typing import Any

from agents import CodeActMember, LLMGateway, TraceSink
from agents.trace import discard
from executors import Sandbox


def build_members(
    specs: Mapping[str, Any],
    sandbox: Sandbox,
    gateway: LLMGateway,
    default_model: str,
    default_params: Mapping[str, Any] | None = None,
    trace: TraceSink = discard,
) -> dict[str, CodeActMember]:
    """One CodeActMember per spec, all on the same sandbox and gateway.

    `specs` maps a member name to a `MemberSpec` (role, goal, model, model_params, max_turns).
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
        )
    return members
