"""What each kind of span carries, written once for the live export and the OTLP/JSON file.

A span's attribute names come from here whether it is sent to a collector as the
work happens (agents/telemetry.py, workflows/runs/spans.py) or rebuilt later from
the run's records (workflows/service/trace_file.py), so the two copies of one run
line up in a viewer: same names, same ids, same kinds.

Two vocabularies side by side: the OpenTelemetry GenAI conventions (`gen_ai.*`,
read by Langfuse, Phoenix from 15.10, Grafana) and OpenInference's
`openinference.span.kind` (CHAIN, AGENT, LLM, TOOL), which Phoenix needs to show
a span as a typed step rather than "unknown".
"""

import contextlib
import functools
import hashlib
import sys
from typing import Any

SPAN_KIND = "openinference.span.kind"
CHAIN, AGENT, LLM, TOOL = "CHAIN", "AGENT", "LLM", "TOOL"
SHORT_VALUE_CHARS = 1000  # input.value / output.value: enough to tell a run from another in a trace list
SCRIPTED_PROVIDER = "crewgate.scripted"
# litellm's provider prefixes, as the GenAI conventions name the providers (others keep litellm's name).
PROVIDERS = {
    "anthropic": "anthropic",
    "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "gemini": "gcp.gemini",
    "groq": "groq",
    "mistral": "mistral_ai",
    "openai": "openai",
    "perplexity": "perplexity",
    "scripted": SCRIPTED_PROVIDER,
    "vertex_ai": "gcp.vertex_ai",
    "watsonx": "ibm.watsonx.ai",
    "xai": "x_ai",
}


def derived_span_id(run_id: str, kind: str, key: str) -> int:
    """A span id that is the same in every process and in the file: 8 bytes of sha256(run/kind/key).

    For the spans crewgate's engine makes (steps, gate waits, decisions), whose keys
    the records hold; a member's spans keep the ids they were exported with, recorded
    in its trace events.
    """
    return int.from_bytes(hashlib.sha256(f"{run_id}/{kind}/{key}".encode()).digest()[:8], "big") or 1


def run_attributes(run_id: str, runbook: str) -> dict[str, Any]:
    """What every span of a run carries: its id, NAME@VERSION, and the run as the GenAI conversation."""
    return {"crewgate.run.id": run_id, "crewgate.runbook": runbook, "gen_ai.conversation.id": run_id}


def chat_attributes(model: str, member: str) -> dict[str, Any]:
    """A `chat {model}` span's attributes before the call."""
    provider, name = provider_and_model(model)
    return {
        SPAN_KIND: LLM,
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": name,
        "gen_ai.agent.name": member or None,
    }


def usage_attributes(
    input_tokens: int, output_tokens: int, cost_usd: float, response_model: str, finish_reason: str | None
) -> dict[str, Any]:
    """What a `chat` span learns from the reply: tokens, cost (`gen_ai.usage.cost`, as Langfuse reads it)."""
    attributes: dict[str, Any] = {
        "gen_ai.usage.input_tokens": input_tokens,
        "gen_ai.usage.output_tokens": output_tokens,
        "gen_ai.usage.cost": cost_usd,
        "crewgate.cost_usd": cost_usd,
        "gen_ai.response.model": response_model or None,
    }
    if finish_reason:
        attributes["gen_ai.response.finish_reasons"] = (finish_reason,)
    return attributes


def agent_attributes(member: str, role: str, model: str) -> dict[str, Any]:
    """An `invoke_agent {member}` span's attributes."""
    provider, name = provider_and_model(model)
    return {
        SPAN_KIND: AGENT,
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": member,
        "gen_ai.request.model": name,
        "gen_ai.provider.name": provider,
        "crewgate.member.role": role or None,
    }


def cell_attributes() -> dict[str, Any]:
    """An `execute_tool code` span's attributes: one cell in the sandbox."""
    return {
        SPAN_KIND: TOOL,
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "code",
        "gen_ai.tool.type": "extension",
    }


def tool_attributes(tool: str, call_id: str, local: bool) -> dict[str, Any]:
    """An `execute_tool {tool}` span's attributes: a tool called from a cell."""
    return {
        SPAN_KIND: TOOL,
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": tool[:300],
        "gen_ai.tool.call.id": call_id,
        "gen_ai.tool.type": "function" if local else "extension",
    }


def short(text: str) -> str:
    """An input or output value short enough for a trace list."""
    return text if len(text) <= SHORT_VALUE_CHARS else text[: SHORT_VALUE_CHARS - 1] + "…"


@functools.lru_cache(maxsize=64)
def provider_and_model(model: str) -> tuple[str, str]:
    """(gen_ai.provider.name, gen_ai.request.model) of a litellm model string, e.g. ('openai', 'gpt-4o')."""
    prefix, _, name = model.partition("/")
    if name:
        return PROVIDERS.get(prefix, prefix), name
    litellm = sys.modules.get("litellm")
    if litellm is not None:
        with contextlib.suppress(Exception):  # litellm cannot tell: the name alone is all there is
            provider = litellm.get_llm_provider(model)[1]
            return PROVIDERS.get(provider, provider), model
    return "unknown", model
