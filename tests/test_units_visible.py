"""The one renderer for text shown to a person: every character class it escapes, how, and what it says.

Fast and in process: `make mutation` runs mutmut on workflows/visible.py against these.
"""

import pytest

from workflows.visible import clip_tail, hidden_characters, visible

CONTROLS = [*range(0x00, 0x09), 0x0B, 0x0C, 0x0D, *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F]
C1 = [point for point in range(0x80, 0xA0) if point != 0x9B]
BIDI = [0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]
INVISIBLE = [
    0x00AD,  # soft hyphen
    0x034F,  # combining grapheme joiner
    0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2,  # Arabic and Syriac marks
    0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800,  # Hangul fillers and the braille blank: they pass for letters
    0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180E, 0x180F,  # Mongolian variation selectors and vowel separator
    0xFE00, 0xFE0E, 0xFE0F,  # variation selectors: `config.py` + U+FE0F looks like `config.py`
    0x200B, 0x200C, 0x200D,  # zero-width space, non-joiner, joiner
    0x2028, 0x2029,  # line and paragraph separators
    0x2060, 0x2061, 0x2064, 0x206A, 0x206F,
    0xFEFF, 0xFFF9, 0xFFFA, 0xFFFB,
    0x110BD, 0x110CD, 0x13430, 0x1343F, 0x1BCA0, 0x1BCA3, 0x1D173, 0x1D17A,
    0xE0000, 0xE0001, 0xE0041, 0xE007F, 0xE0100, 0xE0FFF,  # tag characters and variation selectors supplement
]  # fmt: skip
KEPT = [
    0x20, 0x41, 0x7E, 0xA0, 0xE9, 0x0100, 0x05D0, 0x0627, 0x08E3, 0x0889, 0x115E, 0x1161, 0x17B3, 0x17B6, 0x180A,
    0x1810, 0x200A, 0x2010, 0x2027, 0x202F, 0x205F, 0x2070, 0x27FF, 0x2801, 0x3163, 0x3165, 0x4E2D, 0xFDFF, 0xFE10,
    0xFEFE,
    0xFF00, 0xFF9F, 0xFFA1, 0xFFF8, 0xFFFC, 0x110BC, 0x110BE, 0x110CC, 0x110CE, 0x1342F, 0x13440, 0x1BC9F,
    0x1BCA4, 0x1D172, 0x1D17B, 0x1F600, 0xDFFFF, 0xE1000,
]  # fmt: skip


def escape_of(point: int) -> str:
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


@pytest.mark.parametrize("point", CONTROLS + C1)
def test_control_characters_are_escaped_and_named(point: int) -> None:
    shown = visible(f"a{chr(point)}b")
    assert shown.text == f"a{escape_of(point)}b"
    expected = "terminal escape" if point == 0x1B else "control character"
    assert shown.flags == (f"{expected} U+{point:04X}",)


@pytest.mark.parametrize("point", [0x1B, 0x9B])
def test_esc_and_csi_are_terminal_escapes(point: int) -> None:
    assert visible(chr(point) + "[2J").flags == (f"terminal escape U+{point:04X}",)


@pytest.mark.parametrize("point", BIDI)
def test_bidi_controls_are_escaped_and_named(point: int) -> None:
    shown = visible(f"x{chr(point)}y")
    assert shown.text == f"x{escape_of(point)}y" and shown.flags == (f"bidi control U+{point:04X}",)


@pytest.mark.parametrize("point", INVISIBLE)
def test_invisible_characters_are_escaped_and_named(point: int) -> None:
    shown = visible(f"x{chr(point)}y")
    assert shown.text == f"x{escape_of(point)}y" and shown.flags == (f"invisible character U+{point:04X}",)


@pytest.mark.parametrize("byte", [0x80, 0x85, 0x9B, 0xC3, 0xFF])
def test_an_undecodable_byte_is_escaped_as_that_byte_and_named(byte: int) -> None:
    name = bytes([0x61, byte, 0x62]).decode("utf-8", "surrogateescape")
    shown = visible(name)
    assert shown.text == f"a\\x{byte:02x}b" and shown.flags == (f"undecodable byte 0x{byte:02X}",)


@pytest.mark.parametrize("point", KEPT)
def test_ordinary_characters_are_kept(point: int) -> None:
    text = f"a{chr(point)}b"
    assert visible(text).text == text and visible(text).flags == () and not visible(text).flagged


def test_newlines_and_tabs_stay_in_multiline_text_and_are_escaped_on_one_line() -> None:
    assert visible("a\nb\tc") == visible("a\nb\tc", multiline=True)
    assert visible("a\nb\tc").text == "a\nb\tc" and not visible("a\nb\tc").flagged
    one = visible("a\nb\tc", multiline=False)
    assert one.text == "a\\x0ab\\x09c" and one.flags == ("control character U+000A", "control character U+0009")
    assert hidden_characters("a\nb\tc") == ()
    assert hidden_characters("a\rb") == ("control character U+000D",)


def test_each_flag_is_raised_once_in_first_seen_order() -> None:
    shown = visible("\u202e\x1b\u202e\x1b\u200b")
    assert shown.flags == ("bidi control U+202E", "terminal escape U+001B", "invisible character U+200B")
    assert shown.flagged


@pytest.mark.parametrize(("text", "limit", "expected"), [("abc", 3, "abc"), ("abc", 5, "abc"), ("", 0, "")])
def test_clip_tail_keeps_text_within_its_limit(text: str, limit: int, expected: str) -> None:
    assert clip_tail(text, limit) == expected


def test_clip_tail_keeps_the_end_and_says_how_much_it_left_out() -> None:
    assert clip_tail("abcdef", 4) == "[crewgate: the first 2 of 6 characters are not shown]\ncdef"
    assert clip_tail("abcd", 3) == "[crewgate: the first 1 of 4 characters are not shown]\nbcd"


def test_every_control_format_and_separator_character_of_this_python_is_escaped() -> None:
    """The explicit set in visible.py covers every Cc, Cf, Zl and Zp character Unicode defines here."""
    import sys
    import unicodedata

    missing = [
        f"U+{point:04X}"
        for point in range(sys.maxunicode + 1)
        if unicodedata.category(chr(point)) in ("Cc", "Cf", "Zl", "Zp") and not visible(chr(point), False).flagged
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("point", "escaped"),
    [(0x9F, "\\x9f"), (0xFF, "\\xff"), (0x100, "\\u0100"), (0xFFFF, "\\uffff"), (0x10000, "\\U00010000")],
)
def test_escapes_are_as_long_as_the_code_point_needs(point: int, escaped: str) -> None:
    from workflows.visible import _escaped

    assert _escaped(chr(point)) == escaped


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("one\ntwo", ["one", "two"]),
        ("one\r\ntwo\r\n", ["one", "two", ""]),  # a CRLF line end goes with its newline
        ("a\rb\nc", ["a\rb", "c"]),  # a lone CR stays in its line
        ("a\r\r\nb", ["a\r", "b"]),  # only the CR right before the newline goes
        ("a\u2028b\u2029c\x85d\x0be\x0cf\x1cg\x1dh\x1ei", ["a\u2028b\u2029c\x85d\x0be\x0cf\x1cg\x1dh\x1ei"]),
        ("", [""]),
    ],
)
def test_display_lines_split_on_newline_only(text: str, lines: list[str]) -> None:
    from workflows.visible import display_lines

    assert display_lines(text) == lines


def test_hidden_characters_in_a_request_or_a_verdict_are_escaped_and_flagged_on_the_terminal() -> None:
    from workflows.cli._review_text import story_lines
    from workflows.service.story_views import ItemStory, StepGlance

    verdict = "approve\u2028+ approved = True"  # a model-written line separator: one line, flagged
    story = ItemStory(
        runbook="add-feature@1.0.0",
        request={"request": "Add multiply\u202e gnp.exe\x1b[2J\nsecond line", "repo": "/tmp/repo"},
        target="approving writes 1 commit to the new branch b of the repository /tmp/repo",
        batch=None,
        schedule=None,
        round=1,
        rounds=(),
        steps=(StepGlance("review", "task", "done", 1, verdict),),
    )
    lines, flags = story_lines(story, "alice", full=False)
    assert lines[1].startswith("⚠ request: Add multiply\\u202e gnp.exe\\x1b[2J […1 more line(s), ")
    assert lines[2] == "  repo: /tmp/repo"  # nothing hidden: no mark
    assert lines[-1].startswith("⚠ review") and lines[-1].endswith("done: approve\\u2028+ approved = True")
    assert set(flags) == {"bidi control U+202E", "terminal escape U+001B", "invisible character U+2028"}
    assert not any("\u202e" in line or "\x1b" in line or "\u2028" in line for line in lines)
