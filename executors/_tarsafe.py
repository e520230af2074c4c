"""Building and checking the tar archives that cross the sandbox boundary.

Archives coming out of a sandbox are untrusted: members must be relative,
free of "..", only files, folders and links that stay inside, and the total
size is bounded. Nothing is ever extracted on the host from here.
"""

import io
import os
import posixpath
import tarfile
from collections.abc import Mapping
from pathlib import Path

from .errors import WorkspaceError


def relative_path(path: str) -> str:
    """Turn "x", "./x" or "/workspace/x" into a safe relative name, or refuse."""
    name = path.removeprefix("/workspace/") if path.startswith("/workspace/") else path
    name = posixpath.normpath(name)
    if name.startswith("/") or name == ".." or name.startswith("../") or "\x00" in name or name == ".":
        raise WorkspaceError(f"refusing path {path!r}: give a path inside /workspace, without '..'")
    return name


def pack_files(files: Mapping[str, bytes | str]) -> bytes:
    """A tar holding `files` (name -> content)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            member = tarfile.TarInfo(relative_path(name))
            member.size, member.mode = len(data), 0o644
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def pack_directory(source: Path, dest: str, limit: int) -> bytes:
    """A tar of a host folder: files, folders and links that stay inside it."""
    root = source.resolve()
    if not root.is_dir():
        raise WorkspaceError(f"{source} is not a folder; give an existing folder to copy into the sandbox")
    prefix = relative_path(dest) if dest else ""
    buffer, total = io.BytesIO(), 0
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for folder, dirs, names in os.walk(root):
            dirs.sort()
            for name in sorted(dirs) + sorted(names):
                path = Path(folder, name)
                if path.is_symlink() and not _link_stays_inside(path, root):
                    continue  # a link out of the repo would mean nothing in the sandbox
                arcname = (
                    posixpath.join(prefix, path.relative_to(root).as_posix())
                    if prefix
                    else path.relative_to(root).as_posix()
                )
                member = archive.gettarinfo(str(path), arcname)
                if not (member.isfile() or member.isdir() or member.issym()):
                    continue
                total += member.size
                if total > limit:
                    raise WorkspaceError(f"{source} is larger than the {limit}-byte transfer limit")
                member.uid = member.gid = 0
                member.uname = member.gname = ""
                if member.isfile():
                    with path.open("rb") as handle:
                        archive.addfile(member, handle)
                else:
                    archive.addfile(member)
    return buffer.getvalue()


def _link_stays_inside(path: Path, root: Path) -> bool:
    target = os.readlink(path)
    if os.path.isabs(target):
        return False
    resolved = posixpath.normpath(posixpath.join(path.parent.relative_to(root).as_posix(), target))
    return not (resolved == ".." or resolved.startswith("../"))


def check_archive(data: bytes, limit: int) -> list[str]:
    """Validate an archive that came out of a sandbox; return its member names."""
    if len(data) > limit * 2 + 65536:
        raise WorkspaceError(f"the sandbox sent an archive over the {limit}-byte limit")
    names, total = [], 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive:
                name = member.name
                if name.startswith("/") or ".." in name.split("/") or "\x00" in name:
                    raise WorkspaceError(f"the sandbox archive has an unsafe member {name!r} (absolute or '..')")
                if member.issym():
                    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
                    if member.linkname.startswith("/") or target == ".." or target.startswith("../"):
                        raise WorkspaceError(f"the sandbox archive has a link {name!r} pointing out of the workspace")
                elif not (member.isfile() or member.isdir()):
                    raise WorkspaceError(f"the sandbox archive has a special file {name!r}")
                total += member.size
                if total > limit:
                    raise WorkspaceError(f"the sandbox archive holds more than the {limit}-byte limit")
                names.append(name)
    except tarfile.TarError as exc:
        raise WorkspaceError(f"the sandbox sent an unreadable archive: {exc}") from exc
    return names
