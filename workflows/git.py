"""Running git on a user's repository: fixed argv, no shell, errors that say which command failed."""

import os
import subprocess
from pathlib import Path

from .errors import PromotionError


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
