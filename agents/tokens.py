"""A provider-independent token estimate, used for prompt budgets and the scripted model.

Real providers report real counts (which the gateway records); for deciding
what fits in a prompt, ~4 characters per token is close enough and needs no
tokenizer download.
"""

from collections.abc import Iterable
from typing import Any


def estimate_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def estimate_message_tokens(messages: Iterable[dict[str, Any]]) -> int:
    return sum(estimate_tokens(str(message.get("content") or "")) + 4 for message in messages)
