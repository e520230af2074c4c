"""Showing sandbox output on a terminal without letting it drive the terminal."""

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """Escape control characters (ESC sequences, NUL, bells) except newline and tab."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
