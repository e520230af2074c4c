"""The CodeAct member loop: reply -> code -> sandbox -> observation -> ... -> final answer.

A member ends on an explicit final answer only (see `blocks`): a reply it cannot act on
is answered with a correction, a few times in a row at most, so a model that drifts from
the format fails clearly instead of ending its step with an empty "success".
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from executors import ExecutionResult, Sandbox

from .blocks import FINAL_FORM, ParsedReply, parse_reply
from .context import fit_prompt
from .errors import AgentError, BudgetExceeded, LLMError, ScriptError
from .gateway import LLMGateway
from .observation import render_observation
from .prompts import helper_source, system_prompt
from .span_shapes import agent_attributes, cell_attributes
from .telemetry import parent_hex, span_hex
from .tools import MemberTools
from .trace import TraceEvent, TraceSink, discard
from .usage import Usage

if TYPE_CHECKING:
    from opentelemetry.context import Context

Status = Literal["done", "max_turns", "budget", "error"]
MAX_CORRECTIONS = 2  # replies in a row with nothing to act on, each answered with a correction, before the member fails
FINAL_WITH_CODE = (
    "(Your final answer was not taken: a final answer counts only in a reply without code, "
    f"once you have seen what the code did. When you are finished, reply with just {FINAL_FORM}.)"
)


@dataclass(frozen=True)
class Turn:
    """One model reply and what running its code showed."""

    number: int
    reply: str
    code: tuple[str, ...]
    results: tuple[ExecutionResult, ...]
    observation: str

    @property
    def result(self) -> ExecutionResult | None:
        """The last block's result, if any code ran."""
        return self.results[-1] if self.results else None


@dataclass(frozen=True)
class MemberResult:
    """How a member's work ended. `message` says why when the status is not `done`."""

    member: str
    status: Status
    final_answer: str
    turns: tuple[Turn, ...]
    usage: Usage
    message: str = ""


class CodeActMember:
    """A crew member that acts by writing Python into a shared sandbox.

    Args:
        name: the member's name in the crew (also its key in a scripted reply file).
        role: a shipped role template: planner, coder, tester, security_reviewer.
        model: a litellm model string, or `scripted/<file>`.
        sandbox: the run's shared, started sandbox session.
        goal: what this member is for, added to its system prompt.
        max_turns: model replies allowed before the member stops with `max_turns`.
        model_params: passed through to litellm (api_base, api_key, temperature, ...).
        helpers: plain functions defined in the sandbox and described in the prompt.
        gateway: the run's gateway (budget, retries); a private one by default.
        trace: sink for one TraceEvent per turn.
        observation_chars: longest observation sent back; head and tail are kept.
        prompt_budget_tokens: older turns are elided beyond this estimate.
        tools: the run's tools as this member may use them (stubs in its prompt, calls answered on the host).
    """

    def __init__(
        self,
        name: str,
        role: str,
        model: str,
        sandbox: Sandbox,
        goal: str = "",
        max_turns: int = 10,
        model_params: dict[str, Any] | None = None,
        helpers: Sequence[Callable[..., object]] = (),
        *,
        gateway: LLMGateway | None = None,
        trace: TraceSink = discard,
        observation_chars: int = 4000,
        prompt_budget_tokens: int = 16000,
        tools: MemberTools | None = None,
    ) -> None:
        if max_turns < 1:
            raise AgentError(f"member {name}: max_turns must be at least 1")
        self.name = name
        self.role = role
        self.model = model
        self.sandbox = sandbox
        self.goal = goal
        self.max_turns = max_turns
        self.model_params = dict(model_params or {})
        self.helpers = tuple(helpers)
        self.gateway = gateway or LLMGateway()
        self.trace = trace
        self.observation_chars = observation_chars
        self.prompt_budget_tokens = prompt_budget_tokens
        self.tools = tools
        self.system = system_prompt(name, role, goal, self.helpers, tools.prompt if tools else "")
        self._helper_code = "\n\n".join(helper_source(helper) for helper in self.helpers)

    def run(self, task: str, context: str = "") -> MemberResult:
        """Work on `task` until a final answer, max_turns, the budget, or a model failure.

        With the gateway's telemetry, the work is an `invoke_agent` span under the current step's span.
        """
        telemetry = self.gateway.telemetry
        if telemetry is None:
            return self._run(task, context, None)
        attributes = {**agent_attributes(self.name, self.role, self.model), **self.gateway.span_attributes}
        with telemetry.span(f"invoke_agent {self.name}", self.gateway.span_parent, attributes) as span:
            result = self._run(task, context, telemetry.context_of(span))
            telemetry.set(
                span,
                {
                    "crewgate.member.status": result.status,
                    "crewgate.member.turns": len(result.turns),
                    "gen_ai.usage.input_tokens": result.usage.prompt_tokens,
                    "gen_ai.usage.output_tokens": result.usage.completion_tokens,
                },
            )
            if result.status != "done":
                telemetry.error(span, result.message, result.status)
        return result

    def _run(self, task: str, context: str, span: "Context | None") -> MemberResult:
        self._define_helpers()
        task_message = f"{task}\n\nContext from earlier steps:\n{context}" if context else task
        history: list[tuple[str, str]] = []
        turns: list[Turn] = []
        usage = Usage()
        corrections = 0  # replies in a row that could not be acted on
        for number in range(1, self.max_turns + 1):
            messages, elided = fit_prompt(self.system, task_message, history, self.prompt_budget_tokens)
            try:
                completion = self.gateway.complete(self.model, messages, self.model_params, self.name, span)
            except BudgetExceeded as exc:
                return self._end("budget", turns, usage, str(exc), span)
            except (ScriptError, LLMError) as exc:
                return self._end("error", turns, usage, str(exc), span)
            usage = usage + completion.usage
            parsed = parse_reply(completion.text, completion.reasoning, completion.finish_reason)
            if parsed.final is not None and not parsed.code:
                turns.append(Turn(number, parsed.visible, (), (), ""))
                self._emit(number, messages, completion, parsed, (), "", elided, "final", _spans(span))
                return MemberResult(self.name, "done", parsed.final, tuple(turns), usage)
            if parsed.code:
                corrections = 0
                results, observation, cells = self._act(parsed.code, number, span)
                if parsed.final is not None:
                    observation += f"\n{FINAL_WITH_CODE}"
            else:
                corrections += 1
                results, observation, cells = (), f"Observation:\n{parsed.problem}", ()
            turns.append(Turn(number, parsed.visible, parsed.code, results, observation))
            self._emit(number, messages, completion, parsed, results, observation, elided, spans=_spans(span, cells))
            if corrections > MAX_CORRECTIONS:
                return self._end(
                    "error",
                    turns,
                    usage,
                    f"{self.name} sent {corrections} replies in a row that could not be acted on; "
                    f"the last: {parsed.problem} Check that the model follows the CodeAct format (README: "
                    "Use a real model)",
                    span,
                )
            history.append((parsed.visible or "(empty reply)", observation))
        return self._end(
            "max_turns", turns, usage, f"{self.name} used all {self.max_turns} turns without a final answer", span
        )

    def _define_helpers(self) -> None:
        """Define the helpers and the tools in the session (again after a kernel restart lost them)."""
        for what, code in (("helpers", self._helper_code), ("tools", self.tools.setup_code if self.tools else "")):
            if not code:
                continue
            defined = self.sandbox.execute(code)
            if not defined.ok:
                raise AgentError(f"member {self.name}: defining its {what} in the sandbox failed:\n{defined.traceback}")

    def _act(
        self, code: tuple[str, ...], turn: int, span: "Context | None" = None
    ) -> tuple[tuple[ExecutionResult, ...], str, tuple[str, ...]]:
        """Run the blocks in order, stopping at the first error; build the observation.

        Also the ids of the cells' spans (none without telemetry), to record with the turn.
        """
        results: list[ExecutionResult] = []
        cells: list[str] = []
        for block in code:
            result, cell_span = self._execute(block, turn, span)
            results.append(result)
            cells.append(cell_span)
            if result.kernel_restarted:
                self._define_helpers()
            if not result.ok:
                break
        spans = tuple(cells) if any(cells) else ()
        return tuple(results), render_observation(results, len(code), self.observation_chars), spans

    def _execute(self, block: str, turn: int, span: "Context | None") -> tuple[ExecutionResult, str]:
        """One cell in the sandbox; with telemetry, an `execute_tool code` span under the member's span.

        The cell's tool calls are answered by the member's tools, their spans under the cell's.
        Returns the result and the cell's span id ('' without telemetry).
        """
        telemetry = self.gateway.telemetry
        if telemetry is None:
            return self.sandbox.execute(block, tools=self.tools.handler(turn, None) if self.tools else None), ""
        attributes = {**cell_attributes(), **self.gateway.span_attributes}
        if telemetry.capture_content:
            attributes["gen_ai.tool.call.arguments"] = block
        with telemetry.span("execute_tool code", span, attributes) as tool:
            tools = self.tools.handler(turn, telemetry.context_of(tool)) if self.tools else None
            result = self.sandbox.execute(block, tools=tools)
            done: dict[str, Any] = {"crewgate.timed_out": result.timed_out, "crewgate.truncated": result.truncated}
            if telemetry.capture_content:
                done["gen_ai.tool.call.result"] = render_observation([result], 1, self.observation_chars)
            telemetry.set(tool, done)
            if result.error:
                telemetry.error(tool, f"the cell raised {result.error}", result.error)
        return result, span_hex(tool)

    def _emit(
        self,
        number: int,
        messages: list[dict[str, str]],
        completion: Any,
        parsed: ParsedReply,
        results: Sequence[ExecutionResult],
        observation: str,
        elided: int,
        status: str = "turn",
        spans: dict[str, Any] | None = None,
    ) -> None:
        self.trace(
            TraceEvent(
                member=self.name,
                turn=number,
                model=self.model,
                messages=messages,
                reply=parsed.visible,
                code=parsed.code,
                results=tuple(result.to_dict() for result in results),
                observation=observation,
                usage=completion.usage,
                llm_latency_s=completion.latency_s,
                exec_duration_s=sum(result.duration_s for result in results),
                elided_turns=elided,
                status=status,
                reasoning=parsed.reasoning,
                finish_reason=completion.finish_reason,
                note="" if parsed.code or parsed.final is not None else parsed.problem or "",
                response_model=completion.response_model,
                spans={**(spans or {}), "chat": completion.span_id} if completion.span_id else {},
            )
        )

    def _end(
        self, status: Status, turns: list[Turn], usage: Usage, message: str, span: "Context | None" = None
    ) -> MemberResult:
        self.trace(
            TraceEvent(
                member=self.name,
                turn=len(turns) + 1,
                model=self.model,
                messages=[],
                reply="",
                code=(),
                results=(),
                observation="",
                usage=Usage(),
                llm_latency_s=0.0,
                exec_duration_s=0.0,
                status=status,
                note=message,
                spans=_spans(span),
            )
        )
        return MemberResult(self.name, status, "", tuple(turns), usage, message)


def _spans(agent: "Context | None", cells: Sequence[str] = ()) -> dict[str, Any]:
    """The ids of a turn's spans, as exported (none without telemetry): its member's and its cells'."""
    if agent is None:
        return {}
    return {"agent": parent_hex(agent), "cells": list(cells)} if cells else {"agent": parent_hex(agent)}
