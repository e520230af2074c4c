"""Finding the code in a model's reply.

Code goes in `<execute>...</execute>` blocks or, failing those, fenced
```python blocks. A reply with no code is the member's final answer. An
opened block that is never closed is reported, so the member can resend it.
"""

import re
from dataclasses import dataclass

_EXECUTE = re.compile(r"<execute>(.*?)</execute>", re.DOTALL)
_FENCED = re.compile(r"```(?:python3?|py)[ \t]*\n(.*?)```", re.DOTALL)
_FENCE_OPENER = re.compile(r"```(?:python3?|py)[ \t]*(\n|$)")


@dataclass(frozen=True)
class ParsedReply:
    """The code blocks of a reply, in order, and any unterminated block."""

    code: tuple[str, ...]
    problem: str | None = None


def parse_reply(text: str) -> ParsedReply:
    blocks = tuple(block.strip("\n") for block in _EXECUTE.findall(text))
    rest = _EXECUTE.sub("", text)
    if "<execute>" in rest:
        return ParsedReply(blocks, "your reply opens an <execute> block that is never closed with </execute>")
    if blocks:
        return ParsedReply(blocks)
    fenced = tuple(block.strip("\n") for block in _FENCED.findall(text))
    if _FENCE_OPENER.search(_FENCED.sub("", text)):
        return ParsedReply(fenced, "your reply opens a ```python block that is never closed with ```")
    return ParsedReply(fenced)
