"""Applying exactly the approved bytes to a target: a git branch, a folder, or a patch file.

Every promoter is idempotent, so a promotion interrupted by a crash can simply
run again: the git commit is built deterministically (same tree, parent,
message and dates give the same commit id) and the branch is created only if
absent; folders and patch files are written atomically and recognised if they
are already there.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .artifacts import Artifact
from .errors import PromotionError

AUTHOR = {"GIT_AUTHOR_NAME": "crewgate", "GIT_AUTHOR_EMAIL": "crewgate@localhost"}
MARKER = ".crewgate-artifact"


def _git(repo: Path, *args: str, env: dict[str, str] | None = None, data: bytes | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - fixed git argv, no shell
        ["git", "-C", str(repo), *args],  # noqa: S607 - git from PATH, as the user runs it
        input=data,
        capture_output=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if done.returncode != 0:
        raise PromotionError(
            f"git {' '.join(args[:2])} failed in {repo}: {done.stderr.decode(errors='replace').strip()}"
        )
    return done.stdout.decode().strip()


def head_commit(repo: Path) -> str:
    """The commit a run starts from (promotion branches from it)."""
    return _git(repo, "rev-parse", "--verify", "HEAD^{commit}")


def promote_git(repo: Path, base_commit: str, branch: str, artifact: Artifact, message: str, when: str) -> str:
    """Create `branch` at one new commit on `base_commit` holding the artifact; return 'branch@commit'.

    Uses a private index file, so the user's checked-out branch, index and working tree are untouched.
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
        for name in artifact.changed:
            entry = artifact.files[name]
            blob = _git(repo, "hash-object", "-w", "--stdin", data=entry.data, env=env)
            mode = "120000" if entry.kind == "link" else "100755" if entry.executable else "100644"
            _git(repo, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{name}", env=env)
        for name in artifact.deleted:
            _git(repo, "update-index", "--force-remove", name, env=env)
        tree = _git(repo, "write-tree", env=env)
        commit = _git(repo, "commit-tree", tree, "-p", base_commit, "-m", message, env=env)
    ref = f"refs/heads/{branch}"
    _git(repo, "check-ref-format", ref)
    existing = subprocess.run(  # noqa: S603 - fixed git argv, no shell
        ["git", "-C", str(repo), "rev-parse", "--verify", "-q", ref],  # noqa: S607 - git from PATH
        capture_output=True,
        text=True,
        check=False,  # noqa: S607
    ).stdout.strip()
    if not existing:
        try:
            _git(repo, "update-ref", ref, commit, "0" * 40)  # create only: fails if someone made it meanwhile
        except PromotionError:
            existing = _git(repo, "rev-parse", "--verify", ref)
    if existing and existing != commit:
        raise PromotionError(f"branch {branch} already exists in {repo} at another commit; choose another branch name")
    return f"{branch}@{commit}"


def promote_directory(path: Path, artifact: Artifact, artifact_sha256: str) -> str:
    """Write the changed files into a new folder `path`, atomically (temp folder + rename)."""
    marker = path / MARKER
    if path.exists():
        if marker.is_file() and marker.read_text().strip() == artifact_sha256:
            return str(path)
        raise PromotionError(f"{path} already exists; give a new folder for the approved files")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        for name in artifact.changed:
            entry = artifact.files[name]
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if entry.kind == "link":
                os.symlink(entry.data.decode(), target)
            else:
                target.write_bytes(entry.data)
                target.chmod(0o755 if entry.executable else 0o644)
        (staging / MARKER).write_text(artifact_sha256 + "\n")
        os.rename(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return str(path)


def promote_patch(path: Path, artifact: Artifact) -> str:
    """Write the approved unified diff to `path` atomically."""
    data = artifact.diff.encode()
    if path.exists():
        if path.read_bytes() == data:
            return str(path)
        raise PromotionError(f"{path} already exists with other content; give a new patch file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, prefix=f".{path.name}.") as handle:
        handle.write(data)
    os.replace(handle.name, path)
    return str(path)
