"""Git-format diffs: what a reviewer reads and what the `patch` target writes.

The format is git's own (`diff --git` headers, `new file mode`, `old mode` /
`new mode`, full `index` lines, symlinks as mode 120000, `GIT binary patch`
literals, C-quoted path names), so every change a promotion applies, including
mode-only changes, empty files and symlinks, is visible in the diff, and
`git apply` applies it exactly. Lines are split on "\\n" only, as git does.
"""

import base64
import difflib
import hashlib
import zlib
from dataclasses import dataclass

NULL_ID = "0" * 40
_C_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\"}
_BINARY_LINE = 52


@dataclass(frozen=True)
class Entry:
    """One path's content in a workspace: a file (with its executable bit) or a symlink."""

    kind: str  # "file" or "link"
    data: bytes  # file bytes, or the link's target
    executable: bool = False

    @property
    def mode(self) -> str:
        if self.kind == "link":
            return "120000"
        return "100755" if self.executable else "100644"

    @property
    def blob_id(self) -> str:
        """The git blob id of the content (sha1 over git's blob header and the bytes)."""
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data, usedforsecurity=False).hexdigest()


def is_binary(data: bytes) -> bool:
    """Shown and patched as binary: not UTF-8 text, or holding NUL bytes."""
    if b"\0" in data:
        return True
    try:
        data.decode()
    except UnicodeDecodeError:
        return True
    return False


def quote_path(path: str) -> str:
    """Git's C-style quoting of a path (`core.quotePath` on): quoted only if it needs to be."""
    raw = path.encode("utf-8", "surrogateescape")
    if not any(byte < 0x20 or byte >= 0x7F or byte in (34, 92) for byte in raw):
        return path
    body = "".join(_C_ESCAPES.get(b) or (chr(b) if 0x20 <= b < 0x7F else f"\\{b:03o}") for b in raw)
    return f'"{body}"'


def file_diff(path: str, before: Entry | None, after: Entry | None) -> str:
    """The git diff of one path from `before` to `after` (either may be None; not both)."""
    if before is not None and after is not None and before.kind != after.kind:
        return file_diff(path, before, None) + file_diff(path, None, after)  # a type change: delete, then add
    a_name, b_name = quote_path(f"a/{path}"), quote_path(f"b/{path}")
    lines = [f"diff --git {a_name} {b_name}\n"]
    old_id = before.blob_id if before else NULL_ID
    new_id = after.blob_id if after else NULL_ID
    if before is None and after is not None:
        lines += [f"new file mode {after.mode}\n", f"index {old_id}..{new_id}\n"]
    elif after is None and before is not None:
        lines += [f"deleted file mode {before.mode}\n", f"index {old_id}..{new_id}\n"]
    elif before is not None and after is not None:
        if before.mode != after.mode:
            lines += [f"old mode {before.mode}\n", f"new mode {after.mode}\n"]
        if old_id != new_id:
            same_mode = f" {after.mode}" if before.mode == after.mode else ""
            lines.append(f"index {old_id}..{new_id}{same_mode}\n")
    if old_id == new_id:
        return "".join(lines)  # a mode-only change
    old = before.data if before else b""
    new = after.data if after else b""
    if is_binary(old) or is_binary(new):
        lines += ["GIT binary patch\n", _literal(new), _literal(old)]
        return "".join(lines)
    if not old and not new:
        return "".join(lines)
    lines += [f"--- {a_name if before else '/dev/null'}\n", f"+++ {b_name if after else '/dev/null'}\n"]
    lines += _hunks(old.decode(), new.decode())
    return "".join(lines)


def _hunks(old: str, new: str) -> list[str]:
    out = []
    for line in list(difflib.unified_diff(_split(old), _split(new)))[2:]:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return out


def _split(text: str) -> list[str]:
    """Lines as git sees them: split on "\\n" only, each keeping its newline."""
    if not text:
        return []
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _literal(data: bytes) -> str:
    """A `literal` hunk of a git binary patch: zlib data, base85 in lines of up to 52 bytes."""
    packed = zlib.compress(data, 9)
    rows = [f"literal {len(data)}\n"]
    for start in range(0, len(packed), _BINARY_LINE):
        chunk = packed[start : start + _BINARY_LINE]
        size = chr(ord("A") + len(chunk) - 1) if len(chunk) <= 26 else chr(ord("a") + len(chunk) - 27)
        rows.append(size + base64.b85encode(chunk, pad=True).decode() + "\n")
    rows.append("\n")
    return "".join(rows)
