"""The one renderer for text shown to a person: control, escape and bidi characters made visible.

Everything a run or a user wrote (file names, diffs, outputs, answers, reviewer
names, messages) may hold characters that drive a terminal (ESC sequences, CR,
C1 controls) or reorder what is displayed (Unicode bidi controls, as in Trojan
Source), or that are simply invisible (zero-width, tag characters). `visible`
replaces each with an escape such as `\\x1b` or `\\u202e` and reports a flag
naming it, so a surface can warn where it occurs. The web surface uses the same
function, so a terminal and a page show the same thing.
"""

import re
import unicodedata
from dataclasses import dataclass

BIDI_CONTROLS = frozenset({0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})
ESCAPES = frozenset({0x1B, 0x9B})  # ESC and CSI: the start of ANSI/OSC sequences
KEPT_IN_TEXT = ("\n", "\t")  # what multi-line text keeps as it is
UNDECODABLE = range(0xDC80, 0xDD00)  # a byte that is not UTF-8, kept by surrogateescape (file names)
# C0/C1 controls (newline and tab are handled separately), every format-class or separator
# character that is invisible or reorders text (a superset of Unicode's Cf, Zl, Zp), the blank
# fillers that pass for letters (Hangul fillers, braille blank, combining grapheme joiner), the
# variation selectors (invisible: `config.py` + U+FE0F looks like `config.py`), and undecodable bytes.
_SUSPECT = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160"
    "\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    "\udc80-\udcff\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff]"
)


@dataclass(frozen=True)
class Shown:
    """Text made safe to display, and what had to be escaped in it."""

    text: str
    flags: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def visible(text: str, multiline: bool = True) -> Shown:
    """Escape what could drive a terminal or hide text; keep newlines and tabs only if `multiline`."""
    flags: list[str] = []  # each once, in the order first seen

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if multiline and char in KEPT_IN_TEXT:
            return char
        described = _describe(char)
        if described not in flags:
            flags.append(described)
        return _escaped(char)

    shown = _SUSPECT.sub(escape, text)
    return Shown(shown, tuple(flags))


def display_lines(text: str) -> list[str]:
    """`text` as the lines a person sees: split on "\\n" only, as git and the artifact count them.

    `str.splitlines` also breaks at U+2028, U+2029, \\v, \\f, \\x1c-\\x1e, \\x85 and a lone \\r, so
    model-written text could fake a line of its own (a diff line, a crewgate note); here those
    stay inside their line, where `visible` escapes and flags them. The CR of a CRLF line end
    goes with its newline.
    """
    return [line.removesuffix("\r") for line in text.split("\n")]


def hidden_characters(text: str) -> tuple[str, ...]:
    """The flags `visible` would raise for `text` (newlines and tabs are fine)."""
    return visible(text).flags


def _escaped(char: str) -> str:
    point = ord(char)
    if point in UNDECODABLE:
        return f"\\x{point - 0xDC00:02x}"
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def _describe(char: str) -> str:
    point = ord(char)
    if point in UNDECODABLE:
        return f"undecodable byte 0x{point - 0xDC00:02X}"
    if point in ESCAPES:
        return f"terminal escape U+{point:04X}"
    if point in BIDI_CONTROLS:
        return f"bidi control U+{point:04X}"
    if unicodedata.category(char) == "Cc":
        return f"control character U+{point:04X}"
    return f"invisible character U+{point:04X}"


def clip_tail(text: str, limit: int) -> str:
    """The last `limit` characters of `text`, behind a visible marker saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"[crewgate: the first {len(text) - limit} of {len(text)} characters are not shown]\n" + text[-limit:]
