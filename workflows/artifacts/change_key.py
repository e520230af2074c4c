"""A diff's size and its change key: what two changes have in common once context and base are set aside.

Forty repositories of a batch that get the same edit give forty artifacts with
different sha256s (their bases differ), yet a reviewer reads one change. The
change key is a sha256 over what the change does: each file header, its mode
lines and the added and removed lines in order. Context lines, hunk positions
and `index` lines (which name the base's blobs) are left out. Equal keys only
group items for review: each decision is still bound to its own item's sha256.
"""

import difflib
import hashlib
from dataclasses import dataclass

from ..visible import display_lines

FILE_HEADER = "diff --git "


@dataclass(frozen=True)
class DiffSize:
    added: int
    removed: int


def diff_size(diff: str) -> DiffSize:
    """Lines added and removed in a git-format diff (its hunks' + and - lines, not the file headers)."""
    added = removed = 0
    for line, in_hunk in _lines(diff):
        if in_hunk:
            added += line.startswith("+")
            removed += line.startswith("-")
    return DiffSize(added, removed)


def change_key(diff: str) -> str:
    """The sha256 of the diff's file headers, mode lines and +/- lines: equal for the same change on other bases."""
    digest = hashlib.sha256()
    for line in change_lines(diff):
        digest.update(line.encode(errors="surrogateescape") + b"\n")
    return digest.hexdigest()


def change_lines(diff: str) -> list[str]:
    """What the change key is taken over: file headers and mode lines, and each hunk's +, - and \\ lines."""
    return [
        line
        for line, in_hunk in _lines(diff)
        if (line[:1] in ("+", "-", "\\") if in_hunk else not line.startswith(("index ", "@@")))
    ]


def change_differences(representative: str, other: str) -> list[str]:
    """How the change of diff `other` differs from `representative`'s: its change lines that are not the
    representative's ("+ " prefixed) and the representative's it lacks ("- ")."""
    compared = difflib.unified_diff(change_lines(representative), change_lines(other), lineterm="", n=0)
    return [f"{line[0]} {line[1:]}" for line in list(compared)[2:] if not line.startswith("@@")]  # [2:]: its header


def _lines(diff: str) -> list[tuple[str, bool]]:
    """Each line of the diff, and whether it is inside a hunk (after `@@`, before the next file header)."""
    found = []
    in_hunk = False
    for line in display_lines(diff.removesuffix("\n")):
        if line.startswith(FILE_HEADER):
            in_hunk = False
        elif line.startswith("@@"):
            in_hunk = True
            continue
        found.append((line, in_hunk))
    return found
