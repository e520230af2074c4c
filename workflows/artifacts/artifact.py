"""Review artifacts: exactly what a gate shows a reviewer and what promotion applies.

An artifact is a deterministic tar of `manifest.json` (every changed path with its
status, kind, mode, size, sha256 and flags), `changes.diff` (a git-format diff of
every change, mode-only changes, empty files and symlinks included) and
`files/<path>` (the exact new bytes of every path that is not deleted). Its sha256
is taken over those stored bytes, so an approval binds to them. Reading an
artifact checks it against its own manifest and refuses a tree that could write
through a symlink; reading only its listing (manifest and diff, for review) skips
the per-file check, which promotion always makes.
"""

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from typing import Any

from executors._tarsafe import tree_problem

from ..errors import StoreCorrupt
from ..plain import plain
from ..visible import hidden_characters
from .gitdiff import Entry, file_diff, is_binary

FORMAT = "crewgate-artifact/2"
IGNORED_PARTS = frozenset({".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
STATUSES = ("added", "modified", "mode_changed", "type_changed", "deleted")


class ArtifactError(StoreCorrupt):
    """An artifact cannot be read or does not agree with its own manifest."""


@dataclass(frozen=True)
class Side:
    """One side (before or after) of a changed path."""

    kind: str  # file or link
    mode: str  # git mode: 100644, 100755, 120000
    size: int
    sha256: str
    binary: bool
    target: str | None = None  # a link's target

    @classmethod
    def of(cls, entry: Entry) -> "Side":
        target = entry.data.decode(errors="surrogateescape") if entry.kind == "link" else None
        binary = entry.kind == "file" and is_binary(entry.data)
        return cls(entry.kind, entry.mode, len(entry.data), hashlib.sha256(entry.data).hexdigest(), binary, target)


@dataclass(frozen=True)
class Change:
    """A changed path: what it was, what it becomes, and what a reviewer should notice."""

    path: str
    status: str  # one of STATUSES
    old: Side | None
    new: Side | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class Artifact:
    """A parsed artifact."""

    base_snapshot: str
    changes: tuple[Change, ...]
    diff: str
    files: dict[str, Entry]  # the new content of every path that is not deleted

    @property
    def changed(self) -> tuple[str, ...]:
        return tuple(change.path for change in self.changes if change.new is not None)

    @property
    def deleted(self) -> tuple[str, ...]:
        return tuple(change.path for change in self.changes if change.new is None)


def workspace_entries(snapshot: bytes) -> dict[str, Entry]:
    """Files and links of a workspace snapshot, without caches and .git."""
    entries = {}
    with tarfile.open(fileobj=io.BytesIO(snapshot)) as archive:
        for member in archive:
            name = member.name.removeprefix("./")
            if IGNORED_PARTS & set(name.split("/")) or name.endswith(".pyc"):
                continue
            if member.isfile():
                source = archive.extractfile(member)
                data = source.read() if source else b""
                entries[name] = Entry("file", data, bool(member.mode & 0o100))
            elif member.issym():
                entries[name] = Entry("link", member.linkname.encode(errors="surrogateescape"))
    return entries


def build_artifact(base: bytes, current: bytes, base_sha256: str) -> tuple[bytes, Artifact]:
    """The deterministic artifact tar for the change from snapshot `base` to `current`, and what it holds."""
    before, after = workspace_entries(base), workspace_entries(current)
    paths = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    changes = [_change(path, before.get(path), after.get(path)) for path in paths]
    diff = "".join(file_diff(path, before.get(path), after.get(path)) for path in paths)
    manifest = {
        "format": FORMAT,
        "base_snapshot": base_sha256,
        "summary": {status: sum(c.status == status for c in changes) for status in STATUSES},
        "changes": plain(changes),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        _add(archive, "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
        _add(archive, "changes.diff", diff.encode(errors="surrogateescape"))
        for path in paths:
            entry = after.get(path)
            if entry is None:
                continue
            if entry.kind == "link":
                info = tarfile.TarInfo(f"files/{path}")
                info.type, info.linkname, info.mtime = tarfile.SYMTYPE, entry.data.decode(errors="surrogateescape"), 0
                archive.addfile(info)
            else:
                _add(archive, f"files/{path}", entry.data, 0o755 if entry.executable else 0o644)
    files = {path: after[path] for path in paths if path in after}
    return buffer.getvalue(), Artifact(base_sha256, tuple(changes), diff, files)


def _change(path: str, old: Entry | None, new: Entry | None) -> Change:
    if old is None:
        status = "added"
    elif new is None:
        status = "deleted"
    elif old.kind != new.kind:
        status = "type_changed"
    elif old.data == new.data:
        status = "mode_changed"
    else:
        status = "modified"
    old_side, new_side = (Side.of(old) if old else None), (Side.of(new) if new else None)
    return Change(path, status, old_side, new_side, _flags(path, new, old_side, new_side))


def _flags(path: str, new: Entry | None, old_side: Side | None, new_side: Side | None) -> tuple[str, ...]:
    """What a reviewer must not miss about a path, beyond its diff."""
    flags = []
    sides = [side for side in (old_side, new_side) if side]
    if any(side.kind == "link" for side in sides):
        flags.append("symlink")
    if old_side and new_side and old_side.kind != new_side.kind:
        flags.append("type change")
    if old_side and new_side and old_side.kind == new_side.kind and old_side.mode != new_side.mode:
        flags.append("mode change")
    if new_side and new_side.mode == "100755" and (old_side is None or old_side.mode != "100755"):
        flags.append("executable")
    if any(side.kind == "file" and side.size == 0 for side in sides):
        flags.append("empty")
    if any(side.binary for side in sides):
        flags.append("binary")
    flags += [f"name: {flag}" for flag in hidden_characters(path)]
    if new is not None and not (new_side and new_side.binary):
        text = new.data.decode(errors="replace").replace("\r\n", "\n")  # CRLF line ends are fine; a lone CR is not
        flags += [f"content: {flag}" for flag in hidden_characters(text)]
    return tuple(flags)


def read_artifact(data: bytes) -> Artifact:
    """Parse an artifact and check it against its manifest; refuse one that could write through a link."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            members = {member.name: member for member in archive}
            base, changes, diff = _manifest_and_diff(archive, members)
            files = {change.path: _entry(archive, members, change) for change in changes if change.new}
    except (tarfile.TarError, KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"the artifact cannot be read: {exc}") from exc
    links = {path: e.data.decode(errors="surrogateescape") if e.kind == "link" else None for path, e in files.items()}
    _refuse_unsafe(links)
    return Artifact(base, changes, diff, files)


def read_listing(data: bytes) -> Artifact:
    """An artifact's manifest and diff without its files (`files` is empty): what a reviewer is shown.

    The builder writes manifest.json and changes.diff first, so this reads two tar
    headers instead of one per changed path; the bytes are the ones the caller verified
    against the sha256. Promotion still reads everything with `read_artifact`, which
    checks each file against the manifest, so a listing that disagrees with its files
    can be shown but never applied.
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            members = {}
            for member in archive:
                members[member.name] = member
                if {"manifest.json", "changes.diff"} <= set(members):
                    break
            base, changes, diff = _manifest_and_diff(archive, members)
    except (tarfile.TarError, KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"the artifact cannot be read: {exc}") from exc
    _refuse_unsafe({c.path: c.new.target if c.new.kind == "link" else None for c in changes if c.new})
    return Artifact(base, changes, diff, {})


def _manifest_and_diff(
    archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo]
) -> tuple[str, tuple[Change, ...], str]:
    manifest = json.loads(_read(archive, members, "manifest.json"))
    if manifest.get("format") != FORMAT:
        raise ArtifactError(
            f"artifact format {manifest.get('format')!r} is not {FORMAT}: it was made by another crewgate "
            "version; request changes on its review to build it again"
        )
    diff = _read(archive, members, "changes.diff").decode(errors="surrogateescape")
    return manifest["base_snapshot"], tuple(_change_from(item) for item in manifest["changes"]), diff


def _refuse_unsafe(links: dict[str, str | None]) -> None:
    problem = tree_problem(links)
    if problem:
        raise ArtifactError(f"the artifact cannot be applied safely: {problem}")


def _change_from(item: dict[str, Any]) -> Change:
    old, new = item["old"], item["new"]
    return Change(
        item["path"], item["status"], Side(**old) if old else None, Side(**new) if new else None, tuple(item["flags"])
    )


def _entry(archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo], change: Change) -> Entry:
    """A path's new content, checked against what the manifest says it is."""
    member = members[f"files/{change.path}"]
    if member.issym():
        entry = Entry("link", member.linkname.encode(errors="surrogateescape"))
    else:
        entry = Entry("file", _read(archive, members, member.name), bool(member.mode & 0o100))
    side = Side.of(entry)
    if side != change.new:
        raise ArtifactError(f"the artifact's bytes for {change.path!r} do not match its manifest")
    return entry


def _add(archive: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    archive.addfile(info, io.BytesIO(data))


def _read(archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str) -> bytes:
    source = archive.extractfile(members[name])
    if source is None:
        raise ArtifactError(f"artifact member {name} is not a file")
    return source.read()
