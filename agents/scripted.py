"""The offline scripted model: a litellm custom provider replaying replies from YAML.

Addressed as `scripted/<path to a YAML file>`. The file maps a member name to
its ordered list of replies; a member's Nth call in a step gets its Nth reply
(a list per try of the step is possible too, see `script_file`):

    coder:
      - |
        <execute>print(6 * 7)</execute>
      - <final_answer>The answer is 42.</final_answer>

It goes through litellm like any model, so everything around it (the gateway,
accounting, tracing) runs for real. Which call this is comes with the call
(the gateway's `crewgate_call_index` and `crewgate_attempt`), so the provider keeps no state.
"""

from pathlib import Path
from typing import Any

from litellm import CustomLLM, ModelResponse
from litellm.types.utils import Choices, Message
from litellm.types.utils import Usage as LiteUsage

from .script_file import reply_for
from .tokens import estimate_message_tokens, estimate_tokens


class ScriptedProvider(CustomLLM):
    """litellm's handler for `scripted/...` models."""

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        member = str(metadata.get("crewgate_member", ""))
        index = int(metadata.get("crewgate_call_index", 0))
        attempt = int(metadata.get("crewgate_attempt", 1))
        text = reply_for(Path(model), member, index, attempt)
        prompt_tokens = estimate_message_tokens(messages)
        completion_tokens = estimate_tokens(text)
        return ModelResponse(
            model=f"scripted/{model}",
            choices=[Choices(index=0, finish_reason="stop", message=Message(role="assistant", content=text))],
            usage=LiteUsage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
        )
