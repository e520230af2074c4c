"""What a promotion wrote is exactly what was approved: base + artifact, checked before success is reported.

git can drop a path without failing (`update-index` prints "Ignoring path" for a
name it refuses), a file system can merge two names, and a patch may not apply as
its listing says. So each target is read back before its promotion counts: the
written git tree against the base tree plus every listed path's mode and blob; a
folder's every listed path, kind, mode and bytes; a patch applied by `git apply`
to the run's base, compared file by file. A mismatch names the paths and nothing
is left in place (no branch, no folder, no patch file).
"""

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from ..artifacts.artifact import Artifact, workspace_entries
from ..errors import PromotionError
from ..repo.git import STRICT, git, git_bytes

SHOWN = 10
PLAIN_GIT = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}  # no user or system git settings


def check_tree(repo: Path, base_commit: str, tree: str, artifact: Artifact, expected: dict[str, str]) -> None:
    """Refuse a written tree that is not base + artifact (`expected`: path -> 'mode blob' of what it adds)."""
    wanted = tree_entries(repo, base_commit)
    for path in artifact.deleted:
        wanted.pop(path, None)
    wanted.update(expected)
    written = tree_entries(repo, tree)
    _refuse("git", sorted(p for p in set(wanted) | set(written) if wanted.get(p) != written.get(p)))


def tree_entries(repo: Path, treeish: str) -> dict[str, str]:
    """path -> 'mode blob' of every file and link in a tree."""
    entries = {}
    for line in git_bytes(repo, "ls-tree", "-r", "-z", "--full-tree", treeish).split(b"\0"):
        if line:
            meta, _, path = line.partition(b"\t")
            mode, _kind, blob = meta.decode().split(" ")
            entries[path.decode("utf-8", "surrogateescape")] = f"{mode} {blob}"
    return entries


def check_folder(root: Path, artifact: Artifact) -> None:
    """Refuse a written folder in which a listed path differs from the artifact (kind, mode or bytes)."""
    _refuse("the folder", [path for path in artifact.changed if not _same(root, path, artifact)])


def check_patch(base: bytes, artifact: Artifact) -> None:
    """Refuse a patch that `git apply` on the base does not turn into exactly the approved files."""
    with tempfile.TemporaryDirectory(prefix="crewgate-patch-") as scratch:
        root = Path(scratch, "base")
        root.mkdir()
        git(root, "init", "-q", env=PLAIN_GIT)
        # The base's own .gitattributes and this machine's git settings must not change a byte.
        Path(root, ".git", "info", "attributes").write_text("* -text -filter -ident -diff\n")
        entries = workspace_entries(base)
        for name in sorted(entries, key=lambda n: entries[n].kind == "link"):  # links last: none is written through
            entry = entries[name]
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if entry.kind == "link":
                os.symlink(entry.data.decode(errors="surrogateescape"), target)
            else:
                target.write_bytes(entry.data)
                target.chmod(0o755 if entry.executable else 0o644)
        patch = Path(scratch, "changes.diff")
        patch.write_bytes(artifact.diff.encode(errors="surrogateescape"))
        try:
            git(root, *STRICT, "apply", "--whitespace=nowarn", str(patch), env=PLAIN_GIT)
        except PromotionError as exc:
            raise PromotionError(
                f"the approved patch does not apply to the run's base: {exc}; nothing was written"
            ) from exc
        wrong = [path for path in artifact.changed if not _same(root, path, artifact)]
        wrong += [path for path in artifact.deleted if os.path.lexists(root / path)]
        _refuse("the patch", sorted(wrong))


def _same(root: Path, path: str, artifact: Artifact) -> bool:
    entry = artifact.files[path]
    target = root / path
    with contextlib.suppress(OSError):
        info = os.lstat(target)
        if entry.kind == "link":
            return stat.S_ISLNK(info.st_mode) and os.readlink(target) == entry.data.decode(errors="surrogateescape")
        executable = bool(info.st_mode & stat.S_IXUSR)
        return stat.S_ISREG(info.st_mode) and executable == entry.executable and target.read_bytes() == entry.data
    return False


def _refuse(target: str, wrong: list[str]) -> None:
    if not wrong:
        return
    shown = ", ".join(repr(path) for path in wrong[:SHOWN])
    more = f" and {len(wrong) - SHOWN} more" if len(wrong) > SHOWN else ""
    raise PromotionError(
        f"{target} would not hold the approved change as it is: {shown}{more} differ(s) from the artifact "
        "(a name the target refuses or merges, such as a spelling of .git, or a file the target changes as it "
        "writes); nothing was promoted"
    )
