"""The LLM gateway: one call path to every model, above the model seam.

Model strings are litellm's (`openai/gpt-4o`, `anthropic/...`, `ollama/...`,
any OpenAI-compatible server via `api_base`), plus `scripted/<file>` for the
offline scripted model. The gateway adds what a run needs around each call:
retries with capped backoff on transient errors, a per-call timeout, token
and cost accounting, the run's budget, and durable replies: with a reply log,
every reply is recorded before its code runs, and a step re-run after a crash
gets the recorded replies back instead of calling (and paying for) the model
again. API keys come from the environment or from `params`; they are never
logged, traced, or sent into a sandbox.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import LLMError, Stopped
from .litellm_model import LiteLLMModel
from .models import ChatModel, ModelCall, ModelReply, TransientModelError
from .script_file import resolve_scripted
from .secret_names import is_secret_name
from .telemetry import span_hex
from .usage import Budget, Usage

if TYPE_CHECKING:
    from opentelemetry.context import Context

    from .telemetry import Telemetry


@dataclass(frozen=True)
class Completion:
    """One model reply with what it cost. `replayed` replies came from the reply log, not the model.

    `call_index` is the call's number for its member in the current step try (0-based), as the reply log keys it.
    `response_model`: the model that answered, as the provider named it. `span_id`: the `chat` span it was
    exported in (hex; '' without telemetry), recorded with the turn so a rebuilt trace reuses it.
    """

    text: str
    usage: Usage
    latency_s: float
    attempts: int
    replayed: bool = False
    finish_reason: str | None = None
    call_index: int = 0
    reasoning: str = ""
    response_model: str = ""
    span_id: str = ""


class ReplyLog(Protocol):
    """Where a run's model replies are kept, by (scope, member, index): durable in the engine."""

    def recorded(self, scope: str, member: str, index: int) -> ModelReply | None: ...

    def record(self, scope: str, member: str, index: int, reply: ModelReply) -> None: ...


def redact(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of model params safe to log or trace: secrets replaced by '***'."""
    return {name: "***" if is_secret_name(name) else value for name, value in params.items()}


class LLMGateway:
    """Calls models for a run and keeps its accounts.

    Args:
        budget: the run's budget, shared by every member; None for unlimited.
        retries: extra attempts after a transient failure (429, 5xx, timeouts, connection errors); refused
            credentials (401, 403) and other refusals are never retried.
        timeout_s: per-call timeout.
        backoff_s / backoff_cap_s: first retry delay, doubled each time up to the cap.
        retry_after_cap_s: the longest `Retry-After` waited for; a provider asking for more fails the call.
        base_dir: folder that relative `scripted/...` paths resolve against (the runbook's).
        sleep: injected for tests; `time.sleep` by default.
        model: the model seam; litellm by default.
        replies: the run's reply log; None keeps nothing (a member used on its own).
        telemetry: where `chat` spans go; None (no OTLP endpoint) records none.
        span_attributes: what every span of the run carries (its id, its runbook), added to its members' spans.
        stopped: asked before every call to a model (never before a replayed reply); a reason
            (the run was cancelled) raises Stopped instead of calling, so nothing is spent after.
    """

    def __init__(
        self,
        budget: Budget | None = None,
        retries: int = 3,
        timeout_s: float = 120.0,
        backoff_s: float = 1.0,
        backoff_cap_s: float = 16.0,
        retry_after_cap_s: float = 60.0,
        base_dir: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        model: ChatModel | None = None,
        replies: ReplyLog | None = None,
        telemetry: "Telemetry | None" = None,
        stopped: Callable[[], str | None] | None = None,
        span_attributes: dict[str, Any] | None = None,
    ) -> None:
        self.budget = budget or Budget()
        self.retries = retries
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.backoff_cap_s = backoff_cap_s
        self.retry_after_cap_s = retry_after_cap_s
        self.base_dir = base_dir
        self.model = model or LiteLLMModel()
        self.replies = replies
        self.telemetry = telemetry
        self.stopped = stopped
        self.span_parent: Context | None = None  # the current step's span: members' spans hang under it
        self.span_attributes = dict(span_attributes or {})
        self._sleep = sleep
        self._scope = ""
        self._attempt = 1
        self._counts: dict[str, int] = {}  # calls per member in the current scope
        self._lock = threading.Lock()

    def begin(self, scope: str, span_parent: "Context | None" = None, attempt: int = 1) -> None:
        """Start counting calls afresh under `scope` (a step try): replies are replayed from its first.

        `span_parent` is the step's span, the parent of its members' spans (and of calls made without one).
        `attempt` is which try of its step this is; the scripted model can answer each try differently.
        """
        with self._lock:
            self._scope = scope
            self._attempt = attempt
            self._counts = {}
            self.span_parent = span_parent

    def resolve_model(self, model: str) -> str:
        """Make a relative `scripted/` path absolute against the runbook's folder."""
        return resolve_scripted(model, self.base_dir)

    def complete(
        self,
        model: str,
        messages: list[dict[str, str]],
        params: dict[str, Any] | None = None,
        member: str = "",
        parent: "Context | None" = None,
    ) -> Completion:
        """Return the model's reply (or the recorded one). Raises BudgetExceeded, ScriptError or LLMError.

        With telemetry, the call is a `chat` span under `parent` (the member's span), else under the step's.
        """
        if self.telemetry is None:
            return self._complete(model, messages, params, member)
        self.telemetry.with_secrets(params or {})
        chosen = parent if parent is not None else self.span_parent
        with self.telemetry.chat(model, chosen, member, self.span_attributes) as span:
            completion = replace(self._complete(model, messages, params, member), span_id=span_hex(span))
            self.telemetry.chat_done(span, completion, messages)
        return completion

    def _complete(
        self, model: str, messages: list[dict[str, str]], params: dict[str, Any] | None, member: str
    ) -> Completion:
        with self._lock:
            scope = self._scope
            index = self._counts.get(member, 0)
            self._counts[member] = index + 1
        if self.replies is not None:
            recorded = self.replies.recorded(scope, member, index)
            if recorded is not None:
                return Completion(
                    recorded.text, recorded.usage, 0.0, 0, True, recorded.finish_reason, index, recorded.reasoning
                )
        self.budget.check()
        params = dict(params or {})
        params.setdefault("timeout", self.timeout_s)
        started = time.perf_counter()
        reply, attempts = self._call(model, messages, params, ModelCall(member, index, self._attempt))
        if self.replies is not None:
            self.replies.record(scope, member, index, reply)  # before any of its code runs
        self.budget.charge(reply.usage)
        spent = time.perf_counter() - started
        return Completion(
            reply.text, reply.usage, spent, attempts, False, reply.finish_reason, index, reply.reasoning, reply.model
        )

    def _check_stopped(self, model: str) -> None:
        reason = self.stopped() if self.stopped is not None else None
        if reason:
            raise Stopped(f"{model} was not called: {reason}")

    def _call(
        self, model: str, messages: list[dict[str, str]], params: dict[str, Any], call: ModelCall
    ) -> tuple[ModelReply, int]:
        resolved = self.resolve_model(model)
        for attempt in range(1, self.retries + 2):
            self._check_stopped(model)  # every attempt is a call that may be paid for
            try:
                return self.model.complete(resolved, messages, params, call), attempt
            except TransientModelError as exc:
                if attempt > self.retries:
                    raise LLMError(
                        f"{model}: the provider kept failing ({attempt} attempts): {exc}; "
                        "check the provider's status, the api_base and the network"
                    ) from exc
                self._sleep(self._delay(model, attempt, exc))
        raise AssertionError("unreachable: the loop returns or raises")

    def _delay(self, model: str, attempt: int, exc: TransientModelError) -> float:
        """How long to wait before the next attempt: the provider's Retry-After if it gave one, else backoff."""
        backoff = min(self.backoff_s * 2 ** (attempt - 1), self.backoff_cap_s)
        asked = exc.retry_after_s
        if asked is None:
            return backoff
        if asked > self.retry_after_cap_s:
            raise LLMError(
                f"{model}: the provider asks to wait {asked:.0f}s before another call (Retry-After), longer than "
                f"crewgate waits ({self.retry_after_cap_s:.0f}s): {exc}; try again later or raise the rate limit"
            ) from exc
        return asked
