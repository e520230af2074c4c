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
    name = posixpath.normpath(path.removeprefix("/workspace/"))
    if name.startswith("/") or name == ".." or name.startswith("../") or "\x00" in name or name == ".":
        raise WorkspaceError(f"refusing path {path!r}: give a path inside /workspace, without '..'")
    return name


def pack_files(files: Mapping[str, bytes | str]) -> bytes:
    """A tar holding `files` (name -> content)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:  # PAX, Python's default: any name, any size
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
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for folder, dirs, names in os.walk(root):
            dirs.sort()
            for name in sorted(dirs) + sorted(names):
                path = Path(folder, name)
                if path.is_symlink() and not _link_stays_inside(path, root):
                    continue  # a link out of the repo would mean nothing in the sandbox
                arcname = posixpath.join(prefix, path.relative_to(root).as_posix())
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
    """Validate an archive that came out of a sandbox; return its member names.

    Besides each member on its own (relative, no '..', no special files, bounded
    size), the archive as a tree must be one a filesystem could hold: no name twice,
    nothing below a symlink, and every symlink resolving inside the workspace through
    every other link in the archive. A packer raced by a process swapping a folder for
    a link produces exactly such an impossible tree, so it is refused here.
    """
    if len(data) > limit * 2 + 65536:
        raise WorkspaceError(f"the sandbox sent an archive over the {limit}-byte limit")
    tree: dict[str, str | None] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive:
                name = posixpath.normpath(member.name)
                if name.startswith("/") or ".." in name.split("/"):  # normpath keeps a leading /; tar names hold no NUL
                    raise WorkspaceError(f"the sandbox archive has an unsafe member {name!r} (absolute or '..')")
                if not (member.isfile() or member.isdir() or member.issym()):
                    raise WorkspaceError(f"the sandbox archive has a special file {name!r}")
                if name in tree:
                    raise WorkspaceError(f"the sandbox archive holds {name!r} twice: it was changed while being packed")
                tree[name] = member.linkname if member.issym() else None
                total += member.size
                if total > limit:
                    raise WorkspaceError(f"the sandbox archive holds more than the {limit}-byte limit")
    except tarfile.TarError as exc:
        raise WorkspaceError(f"the sandbox sent an unreadable archive: {exc}") from exc
    problem = tree_problem(tree)
    if problem:
        raise WorkspaceError(f"the workspace cannot be accepted: {problem}")
    return list(tree)


MAX_LINK_HOPS = 40


def tree_problem(tree: Mapping[str, str | None]) -> str | None:
    """What makes a tree of paths unsafe to write out, or None.

    `tree` maps each relative path to its symlink target (None for files and folders).
    Unsafe: a path below a symlink, or a symlink that does not resolve inside the
    tree's root once every other link in it is followed (absolute targets, '..' past
    the root, chains such as `a/up -> ..` plus `leak -> a/up/a/up/../../x`, loops).
    """
    links = {name: target for name, target in tree.items() if target is not None}
    for name in tree:
        ancestor = posixpath.dirname(name)
        while ancestor:
            if ancestor in links:
                return f"{name!r} lies below the symlink {ancestor!r}"
            ancestor = posixpath.dirname(ancestor)
    for name, target in sorted(links.items()):
        if resolve_link(links, name) is None:
            return f"the symlink {name!r} -> {target!r} resolves outside the workspace"
    return None


def resolve_link(links: Mapping[str, str], name: str) -> str | None:
    """Where the symlink `name` leads, following `links` physically; None if outside or looping."""
    resolved = name.split("/")[:-1]
    pending = links[name].split("/")
    if links[name].startswith("/"):
        return None
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return None
            resolved.pop()
            continue
        candidate = "/".join([*resolved, part])
        target = links.get(candidate)
        if target is None:
            resolved.append(part)
            continue
        hops += 1
        if hops > MAX_LINK_HOPS or target.startswith("/"):
            return None
        pending[:0] = target.split("/")
    return "/".join(resolved)
