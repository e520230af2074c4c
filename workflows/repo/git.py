"""Running git on a user's repository: fixed argv, no shell, errors that say which command failed."""

import os
import subprocess
import tempfile
from pathlib import Path

from ..errors import PromotionError


def git_bytes(
    repo: Path,
    *args: str,
    env: dict[str, str] | None = None,
    data: bytes | None = None,
    error: type[Exception] = PromotionError,
) -> bytes:
    """`git -C repo ARGS` with `data` on stdin; its raw stdout, or `error` naming the command and git's message."""
    done = subprocess.run(  # noqa: S603 - fixed git argv, no shell
        ["git", "-C", str(repo), *args],  # noqa: S607 - git from PATH, as the user runs it
        input=data,
        capture_output=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if done.returncode != 0:
        raise error(f"git {' '.join(args[:2])} failed in {repo}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def git(
    repo: Path,
    *args: str,
    env: dict[str, str] | None = None,
    data: bytes | None = None,
    error: type[Exception] = PromotionError,
) -> str:
    """Like `git_bytes`, as text with surrounding whitespace stripped."""
    return git_bytes(repo, *args, env=env, data=data, error=error).decode(errors="surrogateescape").strip()


# Every protection git has, whatever this machine's settings: paths a Windows or macOS checkout
# would treat as `.git` (`.GIT`, `.git.`, `git~1`, `.git::$INDEX_ALLOCATION`, ...) are refused too.
STRICT = ("-c", "core.protectNTFS=true", "-c", "core.protectHFS=true")
EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def unstorable(modes: dict[str, str]) -> list[str]:
    """The paths (path -> git mode) that git refuses to put in a tree, by git's own rules (verify_path)."""
    if not modes:
        return []
    with tempfile.TemporaryDirectory(prefix="crewgate-paths-") as scratch:
        git(Path(scratch), "init", "-q")
        listing = b"".join(
            f"{mode} {EMPTY_BLOB}\t".encode() + path.encode("utf-8", "surrogateescape") + b"\0"
            for path, mode in modes.items()
        )
        git_bytes(Path(scratch), *STRICT, "update-index", "-z", "--index-info", data=listing)
        kept = git_bytes(Path(scratch), "ls-files", "-z").split(b"\0")
    stored = {name.decode("utf-8", "surrogateescape") for name in kept if name}
    return sorted(path for path in modes if path not in stored)
