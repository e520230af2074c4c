"""Workspace snapshots and review artifacts, stored content-addressed.

A snapshot is the sandbox's tar of /workspace. An artifact is what a gate puts
in front of a reviewer and what promotion applies: a deterministic tar with
`manifest.json` (changed and deleted paths), `changes.diff` (a unified diff
against the base) and `files/<path>` (the changed files' exact bytes). Its
sha256 is taken over exactly those stored bytes, so an approval binds to them.
"""

import difflib
import hashlib
import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import RunError

IGNORED_PARTS = frozenset({".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Immutable blobs named by their sha256, under $CREWGATE_HOME/blobs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        if len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
            raise RunError(f"{sha!r} is not a sha256")
        return self.root / sha[:2] / sha

    def put(self, data: bytes) -> str:
        sha = sha256_of(data)
        target = self.path(sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
                handle.write(data)
            os.replace(handle.name, target)
        return sha

    def get(self, sha: str) -> bytes:
        try:
            return self.path(sha).read_bytes()
        except FileNotFoundError as exc:
            raise RunError(f"blob {sha[:12]} is missing from {self.root}") from exc


@dataclass(frozen=True)
class Entry:
    kind: str  # file or link
    data: bytes
    executable: bool = False


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
                entries[name] = Entry("link", member.linkname.encode())
    return entries


@dataclass(frozen=True)
class Artifact:
    """A parsed artifact: what changed, the diff, and the changed files' bytes."""

    changed: tuple[str, ...]
    deleted: tuple[str, ...]
    diff: str
    files: dict[str, Entry]


def build_artifact(base: bytes, current: bytes) -> bytes:
    """The deterministic artifact tar for the change from snapshot `base` to `current`."""
    before, after = workspace_entries(base), workspace_entries(current)
    changed = sorted(name for name, entry in after.items() if before.get(name) != entry)
    deleted = sorted(name for name in before if name not in after)
    diff = "".join(_diff(name, before.get(name), after.get(name)) for name in sorted(set(changed) | set(deleted)))
    manifest = {"format": "crewgate-artifact/1", "changed": changed, "deleted": deleted}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        _add(archive, "manifest.json", json.dumps(manifest, indent=2, sort_keys=True).encode())
        _add(archive, "changes.diff", diff.encode())
        for name in changed:
            entry = after[name]
            if entry.kind == "link":
                info = tarfile.TarInfo(f"files/{name}")
                info.type, info.linkname, info.mtime = tarfile.SYMTYPE, entry.data.decode(), 0
                archive.addfile(info)
            else:
                _add(archive, f"files/{name}", entry.data, 0o755 if entry.executable else 0o644)
    return buffer.getvalue()


def read_artifact(data: bytes) -> Artifact:
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        manifest = json.loads(_read(archive, "manifest.json"))
        diff = _read(archive, "changes.diff").decode()
        for name in manifest["changed"]:
            member = archive.getmember(f"files/{name}")
            if member.issym():
                files[name] = Entry("link", member.linkname.encode())
            else:
                files[name] = Entry("file", _read(archive, f"files/{name}"), bool(member.mode & 0o100))
    return Artifact(tuple(manifest["changed"]), tuple(manifest["deleted"]), diff, files)


def _add(archive: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    archive.addfile(info, io.BytesIO(data))


def _read(archive: tarfile.TarFile, name: str) -> bytes:
    source = archive.extractfile(name)
    if source is None:
        raise RunError(f"artifact member {name} is not a file")
    return source.read()


def _diff(name: str, before: Entry | None, after: Entry | None) -> str:
    old = before.data if before else b""
    new = after.data if after else b""
    try:
        old_text, new_text = old.decode(), new.decode()
    except UnicodeDecodeError:
        return f"Binary files a/{name} and b/{name} differ\n"
    lines = difflib.unified_diff(
        old_text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=f"a/{name}" if before else "/dev/null",
        tofile=f"b/{name}" if after else "/dev/null",
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
