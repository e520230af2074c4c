"""Showing run output on a terminal without letting it drive the terminal.

Every string from a run or a user goes through `workflows.visible`; evidence is
shown as a quoted block (every line behind a gutter), so nothing a model wrote
can look like a line crewgate printed, such as a decision.
"""

from ..visible import Shown, display_lines, visible

GUTTER = "  │ "
FLAG_GUTTER = "  ⚠ "


def terminal_safe(text: str) -> str:
    """Escape control, escape and bidi characters (newlines and tabs are kept)."""
    return visible(text).text


def one_line(text: str) -> str:
    """A name or message on one line: newlines and tabs are escaped too."""
    return visible(text, multiline=False).text


def quoted(text: str) -> tuple[list[str], tuple[str, ...]]:
    """`text` as gutter-prefixed lines (⚠ where something was escaped) and every flag raised."""
    lines, flags = [], {}
    for line in display_lines(text):
        shown: Shown = visible(line)  # no newline left in a line; tabs stay tabs
        flags.update(dict.fromkeys(shown.flags))
        lines.append((FLAG_GUTTER if shown.flagged else GUTTER) + shown.text)
    return lines, tuple(flags)
