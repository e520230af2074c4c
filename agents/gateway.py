"""The LLM gateway: one call path to every model, through litellm.

Model strings are litellm's (`openai/gpt-4o`, `anthropic/...`, `ollama/...`,
any OpenAI-compatible server via `api_base`), plus `scripted/<file>` for the
offline scripted model. The gateway adds what a run needs around each call:
retries with capped backoff on transient errors, a per-call timeout, token
and cost accounting, and the run's budget. API keys come from the environment
or from `params`; they are never logged, traced, or sent into a sandbox.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._litellm import litellm_module
from .errors import LLMError, ScriptError
from .usage import Budget, Usage

SECRET_WORDS = ("key", "token", "secret", "password", "authorization")


@dataclass(frozen=True)
class Completion:
    """One model reply with what it cost."""

    text: str
    usage: Usage
    latency_s: float
    attempts: int


def redact(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of model params safe to log or trace: secrets replaced by '***'."""
    return {
        name: "***" if any(word in name.lower() for word in SECRET_WORDS) else value for name, value in params.items()
    }


class LLMGateway:
    """Calls models for a run and keeps its accounts.

    Args:
        budget: the run's budget, shared by every member; None for unlimited.
        retries: extra attempts after a transient failure (429, 5xx, timeouts, connection errors).
        timeout_s: per-call timeout.
        backoff_s / backoff_cap_s: first retry delay, doubled each time up to the cap.
        base_dir: folder that relative `scripted/...` paths resolve against (the runbook's).
        sleep: injected for tests; `time.sleep` by default.
    """

    def __init__(
        self,
        budget: Budget | None = None,
        retries: int = 3,
        timeout_s: float = 120.0,
        backoff_s: float = 1.0,
        backoff_cap_s: float = 16.0,
        base_dir: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.budget = budget or Budget()
        self.retries = retries
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.backoff_cap_s = backoff_cap_s
        self.base_dir = base_dir
        self._sleep = sleep

    def resolve_model(self, model: str) -> str:
        """Make a relative `scripted/` path absolute against the runbook's folder."""
        if model.startswith("scripted/"):
            path = Path(model.removeprefix("scripted/"))
            if not path.is_absolute():
                path = (self.base_dir or Path.cwd()) / path
            return f"scripted/{path.resolve()}"
        return model

    def complete(
        self,
        model: str,
        messages: list[dict[str, str]],
        params: dict[str, Any] | None = None,
        member: str = "",
        script_key: str = "",
    ) -> Completion:
        """Return the model's reply. Raises BudgetExceeded, ScriptError or LLMError."""
        self.budget.check()
        litellm = litellm_module()
        transient = (
            litellm.RateLimitError,
            litellm.InternalServerError,
            litellm.ServiceUnavailableError,
            litellm.BadGatewayError,
            litellm.Timeout,
            litellm.APIConnectionError,
        )
        params = dict(params or {})
        resolved = self.resolve_model(model)
        started = time.perf_counter()
        for attempt in range(1, self.retries + 2):
            try:
                response = litellm.completion(
                    model=resolved,
                    messages=messages,
                    timeout=params.pop("timeout", self.timeout_s),
                    max_retries=0,  # retries are ours, counted and bounded
                    metadata={"crewgate_member": member, "crewgate_script_key": script_key},
                    **params,
                )
                break
            except Exception as exc:  # translated once, here, at the litellm boundary
                script_error = _script_error(exc)
                if script_error is not None:
                    raise script_error from exc
                message = _safe_message(exc, params)
                if not isinstance(exc, transient):
                    raise LLMError(f"{model}: the provider refused the call: {message}") from exc
                if attempt > self.retries:
                    raise LLMError(
                        f"{model}: the provider kept failing ({attempt} attempts): {message}; "
                        "check the provider's status, the api_base and the network"
                    ) from exc
                self._sleep(min(self.backoff_s * 2 ** (attempt - 1), self.backoff_cap_s))
        usage = Usage(
            prompt_tokens=int(getattr(response.usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(response.usage, "completion_tokens", 0) or 0),
            cost_usd=_cost(litellm, response),
            calls=1,
        )
        self.budget.charge(usage)
        text = response.choices[0].message.content or ""
        return Completion(text=text, usage=usage, latency_s=time.perf_counter() - started, attempts=attempt)


def _script_error(exc: BaseException) -> ScriptError | None:
    """litellm wraps a custom provider's exceptions; find ours in the chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ScriptError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _safe_message(exc: BaseException, params: dict[str, Any]) -> str:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for name, value in params.items():
        if isinstance(value, str) and value and any(word in name.lower() for word in SECRET_WORDS):
            message = message.replace(value, "***")
    return message[:500]


def _cost(litellm: Any, response: Any) -> float:
    """litellm's price for the call; 0 for models it has no price for (local, scripted)."""
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # unknown model: no price
        return 0.0
