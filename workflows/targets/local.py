"""Applying exactly the approved bytes to a target: a git branch, a folder, or a patch file.

Every promoter is idempotent, so a promotion interrupted by a crash can simply
run again: the git commit is built deterministically (same tree, parent,
message and dates give the same commit id) and the branch is created only if
absent; folders and patch files are written atomically and recognised if they
are already there. Nothing is ever written through a symlink: folders are
built by file descriptor with O_NOFOLLOW on every component.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..artifacts.artifact import Artifact
from ..errors import PromotionError
from ..repo.git import STRICT
from ..repo.git import git as _git
from .check import check_folder, check_patch, check_tree

AUTHOR = {"GIT_AUTHOR_NAME": "crewgate", "GIT_AUTHOR_EMAIL": "crewgate@localhost"}
MARKER = ".crewgate-artifact"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def promote_git(repo: Path, base_commit: str, branch: str, artifact: Artifact, message: str, when: str) -> str:
    """Create `branch` at one new commit on `base_commit` holding the artifact; return 'branch@commit'.

    Uses a private index file, so the user's checked-out branch, index and working tree are untouched.
    """
    commit = artifact_commit(repo, base_commit, artifact, message, when)
    ref = f"refs/heads/{branch}"
    _git(repo, "check-ref-format", ref)
    existing = subprocess.run(  # noqa: S603 - fixed git argv, no shell
        ["git", "-C", str(repo), "rev-parse", "--verify", "-q", ref],  # noqa: S607 - git from PATH
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not existing:
        try:
            _git(repo, "update-ref", ref, commit, "0" * 40)  # create only: fails if someone made it meanwhile
        except PromotionError:
            existing = _git(repo, "rev-parse", "--verify", ref)
    if existing and existing != commit:
        raise PromotionError(f"branch {branch} already exists in {repo} at another commit; choose another branch name")
    return f"{branch}@{commit}"


def artifact_commit(repo: Path, base_commit: str, artifact: Artifact, message: str, when: str) -> str:
    """The commit on `base_commit` holding the artifact, written into `repo`'s objects; no ref moves.

    Deterministic: the same artifact, parent, message and date give the same commit
    id, which is how a promotion retried after a crash recognises its own work.
    """
    dates = {
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_COMMITTER_NAME": "crewgate",
        "GIT_COMMITTER_EMAIL": "crewgate@localhost",
        **AUTHOR,
    }
    with tempfile.TemporaryDirectory(prefix="crewgate-index-") as scratch:
        env = {**dates, "GIT_INDEX_FILE": str(Path(scratch, "index"))}
        _git(repo, "read-tree", base_commit, env=env)
        listing, expected = _index_info(repo, artifact, Path(scratch))
        _git(repo, *STRICT, "update-index", "-z", "--index-info", data=listing, env=env)
        tree = _git(repo, "write-tree", env=env)
        check_tree(repo, base_commit, tree, artifact, expected)
        # Neither a signing key nor an encoding setting of this worker may change the commit id.
        fixed = ("-c", "i18n.commitEncoding=UTF-8", "commit-tree", "--no-gpg-sign")
        return _git(repo, *fixed, tree, "-p", base_commit, "-m", message, env=env)


def _index_info(repo: Path, artifact: Artifact, scratch: Path) -> tuple[bytes, dict[str, str]]:
    """`update-index --index-info` input (removals first, then every new blob with its exact mode), and
    path -> 'mode blob' of what it adds."""
    lines = [b"0 " + b"0" * 40 + b"\t" + _raw(path) + b"\0" for path in sorted(artifact.deleted, reverse=True)]
    added: dict[str, str] = {}
    changed = artifact.changed
    if changed:
        blobs = scratch / "blobs"
        blobs.mkdir()
        for number, path in enumerate(changed):
            (blobs / str(number)).write_bytes(artifact.files[path].data)
        listing = "".join(f"{blobs / str(n)}\n" for n in range(len(changed))).encode()
        ids = _git(repo, "hash-object", "-w", "--no-filters", "--stdin-paths", data=listing).split("\n")
        for path, blob in zip(changed, ids, strict=True):
            lines.append(f"{artifact.files[path].mode} {blob}\t".encode() + _raw(path) + b"\0")
            added[path] = f"{artifact.files[path].mode} {blob}"
    return b"".join(lines), added


def _raw(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def promote_directory(path: Path, artifact: Artifact, artifact_sha256: str) -> str:
    """Write the changed files into a new folder `path`, atomically (temp folder + rename).

    A folder receives new and changed paths only, so a change that deletes paths is
    refused: promote it to git or a patch instead.
    """
    if artifact.deleted:
        shown = ", ".join(repr(p) for p in artifact.deleted[:5]) + (" ..." if len(artifact.deleted) > 5 else "")
        raise PromotionError(
            f"the approved change deletes {len(artifact.deleted)} path(s) ({shown}); a directory target receives only "
            "new and changed files and cannot delete: promote to git or patch, or request changes; nothing was written"
        )
    marker = path / MARKER
    if path.exists():
        if marker.is_file() and marker.read_text().strip() == artifact_sha256:
            return str(path)
        raise PromotionError(f"{path} already exists; give a new folder for the approved files")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        root = os.open(staging, _DIR_FLAGS)
        try:
            _write_file(root, MARKER, (artifact_sha256 + "\n").encode(), 0o644)  # first: the change cannot forge it
            write_tree(root, artifact)
            check_folder(staging, artifact)  # before the rename: a folder that differs is never put in place
        finally:
            os.close(root)
        os.rename(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return str(path)


def write_tree(root: int, artifact: Artifact) -> None:
    """Create the artifact's files, then its links, below the folder open as `root`.

    Every component is opened with O_NOFOLLOW relative to its parent's descriptor and
    files are created exclusively, so no write can pass through a link, whatever the
    artifact holds.
    """
    ordered = sorted(artifact.changed, key=lambda p: artifact.files[p].kind == "link")
    for name in ordered:
        entry = artifact.files[name]
        *folders, leaf = name.split("/")
        parent = _open_folders(root, folders, name)
        try:
            if entry.kind == "link":
                os.symlink(entry.data.decode(errors="surrogateescape"), leaf, dir_fd=parent)
            else:
                _write_file(parent, leaf, entry.data, 0o755 if entry.executable else 0o644)
        except OSError as exc:
            raise PromotionError(f"refusing to write {name!r}: {exc.strerror} (the artifact's tree is unsafe)") from exc
        finally:
            if parent != root:
                os.close(parent)


def _open_folders(root: int, folders: list[str], name: str) -> int:
    current = root
    for folder in folders:
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o755, dir_fd=current)
        try:
            opened = os.open(folder, _DIR_FLAGS, dir_fd=current)
        except OSError as exc:
            raise PromotionError(f"refusing to write {name!r}: {folder!r} is not a plain folder ({exc})") from exc
        finally:
            if current != root:
                os.close(current)
        current = opened
    return current


def _write_file(parent: int, leaf: str, data: bytes, mode: int) -> None:
    fd = os.open(leaf, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        os.fchmod(handle.fileno(), mode)


def promote_patch(path: Path, artifact: Artifact, base: bytes) -> str:
    """Write the approved git-format diff to `path` atomically, once `git apply` on the run's base
    (the snapshot `base`) is shown to make exactly the approved files."""
    data = artifact.diff.encode(errors="surrogateescape")
    check_patch(base, artifact)
    if path.exists():
        if path.read_bytes() == data:
            return str(path)
        raise PromotionError(f"{path} already exists with other content; give a new patch file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, prefix=f".{path.name}.") as handle:
        handle.write(data)
    os.replace(handle.name, path)
    return str(path)
