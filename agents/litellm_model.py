"""litellm behind the model seam: every provider, and `scripted/<file>` offline."""

from typing import Any

from ._litellm import litellm_module
from .errors import LLMError, ScriptError
from .models import ModelCall, ModelReply, TransientModelError
from .secret_names import is_secret_name
from .usage import Usage


class LiteLLMModel:
    """Calls `litellm.completion` once; litellm's exceptions are translated here, and only here."""

    def complete(
        self, model: str, messages: list[dict[str, str]], params: dict[str, Any], call: ModelCall
    ) -> ModelReply:
        litellm = litellm_module()
        transient = (
            litellm.RateLimitError,
            litellm.InternalServerError,
            litellm.ServiceUnavailableError,
            litellm.BadGatewayError,
            litellm.Timeout,
            litellm.APIConnectionError,
        )
        params = dict(params)
        try:
            response = litellm.completion(
                model=model,
                messages=messages,
                max_retries=0,  # retries are the gateway's, counted and bounded
                metadata={"crewgate_member": call.member, "crewgate_call_index": call.index},
                **params,
            )
        except Exception as exc:  # translated once, here, at the litellm boundary
            script_error = _script_error(exc)
            if script_error is not None:
                raise script_error from exc
            message = safe_message(exc, params)
            if isinstance(exc, transient):
                raise TransientModelError(message) from exc
            raise LLMError(f"{model}: the provider refused the call: {message}") from exc
        cost = _cost(litellm, response, model)
        usage = Usage(
            prompt_tokens=int(getattr(response.usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(response.usage, "completion_tokens", 0) or 0),
            cost_usd=cost or 0.0,
            calls=1,
            unpriced_calls=int(cost is None),
        )
        choice = response.choices[0]
        finish = getattr(choice, "finish_reason", None)
        return ModelReply(choice.message.content or "", usage, str(finish) if finish else None)


def _script_error(exc: BaseException) -> ScriptError | None:
    """litellm wraps a custom provider's exceptions; find ours in the chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ScriptError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def safe_message(exc: BaseException, params: dict[str, Any]) -> str:
    """The error's first line with any secret from `params` replaced by '***'."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for name, value in params.items():
        if isinstance(value, str) and value and is_secret_name(name):
            message = message.replace(value, "***")
    return message[:500]


def _cost(litellm: Any, response: Any, model: str) -> float | None:
    """litellm's price for the call; 0 for the scripted model (free), None for a model litellm cannot price."""
    if model.startswith("scripted/"):
        return 0.0
    try:
        return float(litellm.completion_cost(completion_response=response, model=model))
    except Exception:  # unknown model: no price
        return None
