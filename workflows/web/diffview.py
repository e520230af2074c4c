"""A review item's diff as the page shows it: lines with their kind, syntax colours and warnings.

Lines are split on "\\n" only (`display_lines`), never where a model-written U+2028 or
lone CR would make a fake one. Every line first goes through `workflows.visible` (the
terminal's renderer too), so
an ESC sequence, a bidi control or an invisible character arrives as visible text
such as `\\x1b` or `\\u202e` and the line carries a warning naming it; only then is
it split into coloured tokens. The template escapes every token: nothing from a run
reaches the page as markup.
"""

import re
from dataclasses import dataclass, replace

from ..visible import display_lines, visible
from .colours import coloured, family_of

META_PREFIXES = (
    "index ",
    "old mode ",
    "new mode ",
    "new file mode ",
    "deleted file mode ",
    "similarity index ",
    "rename ",
    "copy ",
    "Binary files ",
    "GIT binary patch",
    "--- ",
    "+++ ",
)
MAX_COLOURED_LINE = 2000  # longer lines are shown plain: colouring them costs more than it helps
HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True)
class DiffLine:
    kind: str  # file, meta, hunk, add, del, context, note
    sign: str  # "+", "-", " " or "" (headers)
    tokens: tuple[tuple[str, str], ...]  # (css class, text)
    warnings: tuple[str, ...]
    old_number: int | None = None  # the line's number in the file before (context and removed lines)
    new_number: int | None = None  # and after (context and added lines)


@dataclass(frozen=True)
class DiffFile:
    """One file's part of the diff: its header as shown, its +/- counts, its lines; `anchor` links to it."""

    anchor: str
    title: str
    added: int
    removed: int
    lines: tuple[DiffLine, ...]


def diff_files(diff: str) -> list[DiffFile]:
    """The diff's lines grouped by file (a cut-marker note after them is a part of its own), numbered."""
    parts: list[list[DiffLine]] = []
    for line in numbered(diff_lines(diff)):
        if line.kind in ("file", "note") or not parts:
            parts.append([])
        parts[-1].append(line)
    return [
        DiffFile(
            f"file-{number}",
            _title(part[0]),
            sum(line.kind == "add" for line in part),
            sum(line.kind == "del" for line in part),
            tuple(part),
        )
        for number, part in enumerate(parts, 1)
    ]


def numbered(lines: list[DiffLine]) -> list[DiffLine]:
    """`lines` with old and new line numbers, counted from each hunk header."""
    old = new = 0
    found = []
    for line in lines:
        if line.kind == "hunk":
            match = HUNK.match("".join(text for _, text in line.tokens))
            old, new = (int(match[1]), int(match[2])) if match else (0, 0)
        elif line.kind == "context":
            line, old, new = replace(line, old_number=old, new_number=new), old + 1, new + 1
        elif line.kind == "add":
            line, new = replace(line, new_number=new), new + 1
        elif line.kind == "del":
            line, old = replace(line, old_number=old), old + 1
        found.append(line)
    return found


def _title(first: DiffLine) -> str:
    """A file part's title: its path from the `diff --git a/X b/Y` header (already escaped for display)."""
    text = "".join(piece for _, piece in first.tokens)
    return _new_name(text) if first.kind == "file" else text


def diff_lines(diff: str) -> list[DiffLine]:
    """The page's lines of a git-format diff, coloured by the language of each file's name."""
    lines: list[DiffLine] = []
    family: str | None = None
    in_header = False
    for raw in display_lines(diff.removesuffix("\n")):
        shown = visible(raw, multiline=False)
        text, warnings = shown.text, tuple(_warning(flag) for flag in shown.flags)
        if raw.startswith("diff --git "):
            family, in_header = family_of(_new_name(raw)), True
            lines.append(DiffLine("file", "", (("", text),), warnings))
        elif raw.startswith("@@"):
            in_header = False
            lines.append(DiffLine("hunk", "", (("", text),), warnings))
        elif in_header and raw.startswith(META_PREFIXES) or raw.startswith("[crewgate: "):
            lines.append(DiffLine("note" if raw.startswith("[crewgate") else "meta", "", (("", text),), warnings))
        elif raw[:1] in ("+", "-", " "):
            kind = {"+": "add", "-": "del", " ": "context"}[raw[0]]
            lines.append(DiffLine(kind, raw[0], _tokens(text[1:], family), warnings))
        else:  # binary patch data, "\ No newline at end of file"
            lines.append(DiffLine("meta", "", (("", text),), warnings))
    return lines


def _warning(flag: str) -> str:
    if flag.startswith("bidi control"):
        return f"this line contains a hidden direction change ({flag}), shown escaped"
    if flag.startswith("terminal escape"):
        return f"this line contains a terminal escape sequence ({flag}), shown escaped"
    return f"this line contains a hidden character ({flag}), shown escaped"


def _new_name(header: str) -> str:
    """The file name at the end of a `diff --git a/X b/Y` header (good enough to pick a lexer)."""
    return header.rsplit(" b/", 1)[-1].strip('"')


def _tokens(text: str, family: str | None) -> tuple[tuple[str, str], ...]:
    return coloured(text, None if len(text) > MAX_COLOURED_LINE else family)
