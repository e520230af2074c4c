"""The model seam: messages in, a reply with its usage out.

The gateway (retries, budget, durable replies) sits above this one method, so
a run can be driven by litellm (every real provider, and the offline scripted
model as a litellm custom provider) or, in tests, by any object with a
`complete` method. Which call this is (`ModelCall`) travels with it: the
scripted model picks its reply by it, and nothing else needs process state.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from .errors import AgentError
from .usage import Usage


@dataclass(frozen=True)
class ModelCall:
    """Who is asking: the member, and how many calls it made before this one in the current step."""

    member: str
    index: int


@dataclass(frozen=True)
class ModelReply:
    """A model's text and what it cost; `finish_reason` when the provider said why it stopped."""

    text: str
    usage: Usage
    finish_reason: str | None = None


class TransientModelError(AgentError):
    """A failure worth retrying (rate limit, 5xx, timeout, lost connection); the gateway retries it."""


class ChatModel(Protocol):
    def complete(
        self, model: str, messages: list[dict[str, str]], params: dict[str, Any], call: ModelCall
    ) -> ModelReply:
        """One completion. Raises TransientModelError, LLMError or ScriptError."""
        ...
