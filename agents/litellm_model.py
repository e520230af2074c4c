"""litellm behind the model seam: every provider, and `scripted/<file>` offline."""

import email.utils
import json
from datetime import UTC, datetime
from typing import Any

from ._litellm import litellm_module
from .credentials import credential_hint, missing_credentials
from .errors import CredentialsError, LLMError, ScriptError
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
        missing = missing_credentials(model, params)
        if missing:  # litellm would report this as a connection failure, and the gateway would retry it
            raise CredentialsError(f"set {' and '.join(missing)} for {model}: {credential_hint(model)}")
        try:
            response = litellm.completion(
                model=model,
                messages=messages,
                max_retries=0,  # retries are the gateway's, counted and bounded
                metadata={
                    "crewgate_member": call.member,
                    "crewgate_call_index": call.index,
                    "crewgate_attempt": call.attempt,
                },
                **params,
            )
        except Exception as exc:  # translated once, here, at the litellm boundary
            script_error = _script_error(exc)
            if script_error is not None:
                raise script_error from exc
            message = safe_message(exc, params)
            if isinstance(exc, transient):
                raise TransientModelError(message, retry_after(exc)) from exc
            refused = isinstance(exc, (litellm.AuthenticationError, litellm.PermissionDeniedError))
            if refused or getattr(exc, "status_code", None) in (401, 403):
                raise CredentialsError(
                    f"{model}: the provider refused the credentials ({message}); not retried: {credential_hint(model)}"
                ) from exc
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
        message = choice.message
        text = (message.content or "") + render_tool_calls(getattr(message, "tool_calls", None))
        reasoning = getattr(message, "reasoning_content", None) or ""
        answered_by = getattr(response, "model", None) or ""
        return ModelReply(text, usage, str(finish) if finish else None, str(reasoning), str(answered_by))


def render_tool_calls(calls: Any) -> str:
    """Tool calls as reply text, so they are recorded, replayed and parsed like any reply.

    A call whose arguments carry code (`{"code": ...}`, or one string argument) becomes an
    `<execute>` block, since code is what a member acts with; any other call is kept as a
    `<tool_call>` marker, which the member answers with a correction (there are no tools).
    """
    rendered = []
    for call in calls or ():
        function = getattr(call, "function", None)
        name = str(getattr(function, "name", "") or "")
        raw = getattr(function, "arguments", "") or ""
        code = _code_argument(raw)
        if code is not None:
            rendered.append(f"\n<execute>\n{code}\n</execute>")
        else:
            shown = str(raw).replace("<", "\\u003c")  # its arguments are data: never read as a block
            rendered.append(f'\n<tool_call name="{name.replace(chr(34), "").replace("<", "")}">{shown}</tool_call>')
    return "".join(rendered)


def _code_argument(raw: str) -> str | None:
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    if not isinstance(arguments, dict):
        return None
    for key in ("code", "python", "source", "script"):
        if isinstance(arguments.get(key), str):
            return str(arguments[key])
    strings = [value for value in arguments.values() if isinstance(value, str)]
    return strings[0] if len(arguments) == 1 and strings else None


def retry_after(exc: BaseException) -> float | None:
    """The provider's `Retry-After` (seconds, or an HTTP date), if its answer carried one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or getattr(exc, "litellm_response_headers", None) or {}
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
    except AttributeError:
        return None
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


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
