"""Keeping a member's prompt within budget.

The system prompt and the task always stay; then as many of the latest turns
as fit. Older turns are dropped whole (a reply with its observation) and the
task message says which ones, so the model knows its earlier work still
shaped the sandbox even though it no longer sees it.
"""

from collections.abc import Sequence

from .tokens import estimate_message_tokens

Message = dict[str, str]


def fit_prompt(
    system: str, task: str, turns: Sequence[tuple[str, str]], budget_tokens: int
) -> tuple[list[Message], int]:
    """Return (messages, number of elided turns). `turns` are (reply, observation) pairs."""
    head = [{"role": "system", "content": system}, {"role": "user", "content": task}]
    pairs = [
        [{"role": "assistant", "content": reply}, {"role": "user", "content": observation}]
        for reply, observation in turns
    ]
    kept: list[list[Message]] = []
    used = estimate_message_tokens(head) + 40  # room for the elision note
    for pair in reversed(pairs):
        cost = estimate_message_tokens(pair)
        if kept and used + cost > budget_tokens:
            break
        kept.insert(0, pair)
        used += cost
    elided = len(pairs) - len(kept)
    if elided:
        note = (
            f"\n\n[crewgate: turns 1-{elided} of your work were elided to keep this prompt within "
            f"{budget_tokens} tokens; what they did in the sandbox still holds]"
        )
        head[1] = {"role": "user", "content": task + note}
    return head + [message for pair in kept for message in pair], elided
