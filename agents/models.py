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
    """Who is asking: the member, how many calls it made before this one in the current step try,
    and which try of its step this is (1 for the first; a failed check sending work back makes the next)."""

    member: str
    index: int
    attempt: int = 1


@dataclass(frozen=True)
class ModelReply:
    """A model's text and what it cost; `finish_reason` when the provider said why it stopped;
    `reasoning` when the provider sent the model's reasoning apart from its text; `model`: the model that
    answered, as the provider named it (a reply read back from the run's record has none)."""

    text: str
    usage: Usage
    finish_reason: str | None = None
    reasoning: str = ""
    model: str = ""


class TransientModelError(AgentError):
    """A failure worth retrying (rate limit, 5xx, timeout, lost connection); the gateway retries it.

    `retry_after_s` is the provider's own `Retry-After`, when it sent one: the gateway waits that long.
    """

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ChatModel(Protocol):
    def complete(
        self, model: str, messages: list[dict[str, str]], params: dict[str, Any], call: ModelCall
    ) -> ModelReply:
        """One completion. Raises TransientModelError, LLMError or ScriptError."""
        ...
