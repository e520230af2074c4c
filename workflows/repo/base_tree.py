"""The base of a run: the one tree the sandbox starts from, the diff is taken against, and the commit builds on.

For a git repository that tree is the recorded commit's, exactly as git stores it
(tracked files only, read from git's objects): never the working tree, so neither
uncommitted edits nor git-ignored files (a `.env` with secrets) reach the sandbox,
the review or the branch, and `.git/` itself is never copied in. Other folders
are copied as they are and that copy, recorded as a blob, is their base.
"""

import io
import tarfile
from pathlib import Path

from executors._tarsafe import tree_problem

from ..errors import RunError
from .git import git, git_bytes

GITLINK = "160000"  # a submodule: a commit id, not content


def head_commit(repo: Path) -> str:
    """The commit a run starts from."""
    return git(repo, "rev-parse", "--verify", "HEAD^{commit}", error=RunError)


def commit_snapshot(repo: Path, commit: str, limit: int) -> bytes:
    """A workspace tar of `commit`'s tree: its files with their modes, and its symlinks."""
    listing = git_bytes(repo, "ls-tree", "-r", "-z", "--full-tree", commit, error=RunError)
    entries = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, oid = meta.decode().split(" ")
        if mode != GITLINK and kind == "blob":
            entries.append((mode, oid, raw_path.decode("utf-8", "surrogateescape")))
    contents = _blobs(repo, [oid for _, oid, _ in entries])
    tree = {path: _text(contents[oid]) if mode == "120000" else None for mode, oid, path in entries}
    problem = tree_problem(tree)
    if problem:
        raise RunError(
            f"{repo} at commit {commit[:12]}: {problem}. crewgate starts only from trees whose symlinks stay "
            "inside the repository: remove or change that link in a commit, then run again"
        )
    if sum(len(contents[oid]) for _, oid, _ in entries) > limit:
        raise RunError(f"{repo} at commit {commit[:12]} is larger than the {limit}-byte workspace limit")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for mode, oid, path in sorted(entries, key=lambda entry: entry[2]):
            info = tarfile.TarInfo(path)
            info.mtime = 0
            if mode == "120000":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, _text(contents[oid]), 0o777
                archive.addfile(info)
            else:
                info.size, info.mode = len(contents[oid]), 0o755 if mode == "100755" else 0o644
                archive.addfile(info, io.BytesIO(contents[oid]))
    return buffer.getvalue()


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _blobs(repo: Path, oids: list[str]) -> dict[str, bytes]:
    """Every blob's bytes, read in one `git cat-file --batch`."""
    wanted = sorted(set(oids))
    if not wanted:
        return {}
    output = git_bytes(repo, "cat-file", "--batch", data="".join(f"{oid}\n" for oid in wanted).encode(), error=RunError)
    found, position = {}, 0
    for oid in wanted:
        header_end = output.index(b"\n", position)
        _, kind, size = output[position:header_end].decode().split(" ")
        start = header_end + 1
        found[oid] = output[start : start + int(size)]
        position = start + int(size) + 1
    return found


def left_out(repo: Path) -> int:
    """How many paths of the working tree differ from the commit (edited, untracked or ignored): none are used."""
    args = ("status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching")
    status = git_bytes(repo, *args, error=RunError)
    return sum(1 for record in status.split(b"\0") if len(record) > 3 and record[2:3] == b" ")
