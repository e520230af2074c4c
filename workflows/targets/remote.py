"""Promotion to a git remote: a new branch holding the approved commit, pushed exactly once, from any machine.

The worker needs no checkout: the run's base commit is fetched from the remote
into a scratch repository, the commit is built there exactly as for a local
repository (deterministic: same artifact, parent, message and date, same id),
and pushed with a lease that the branch must not exist, so the server creates
it atomically or refuses. A retry after a crash (the push may even have landed
after its process died) finds the branch at its own commit and counts it done;
at any other commit it is refused, never overwritten.

Only the https, ssh, git and file transports are allowed (no `ext::` or remote
helpers, whatever the worker's git configuration), the remote can never be read
as an option, and a URL's user and password are never shown in a message.
"""

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from ..artifacts.artifact import Artifact
from ..errors import PromotionError
from ..repo.git import git
from .local import artifact_commit

QUIET = {"GIT_TERMINAL_PROMPT": "0", "GIT_PROTOCOL_FROM_USER": "0"}  # an error, never a prompt on a worker
TRANSPORTS = ("-c", "protocol.allow=never") + tuple(
    item for name in ("https", "ssh", "git", "file") for item in ("-c", f"protocol.{name}.allow=always")
)
TRIES = 3  # a remote that does not answer is asked again after 2 s and 4 s before the promotion fails


class RemoteUnreachable(PromotionError):
    """The remote could not be read or written: worth another try."""


def promote_git_remote(remote: str, base_commit: str, branch: str, artifact: Artifact, message: str, when: str) -> str:
    """Create `branch` on `remote` at one new commit on `base_commit` holding the artifact; return 'branch@commit'."""
    if remote.startswith("-") or not remote.strip():
        raise PromotionError(f"{shown(remote)!r} is not a git remote URL")
    for attempt in range(1, TRIES + 1):
        try:
            return _promote_once(remote, base_commit, branch, artifact, message, when)
        except RemoteUnreachable:
            if attempt == TRIES:
                raise
            time.sleep(2**attempt)
    raise AssertionError("unreachable")


def _promote_once(remote: str, base_commit: str, branch: str, artifact: Artifact, message: str, when: str) -> str:
    ref = f"refs/heads/{branch}"
    with tempfile.TemporaryDirectory(prefix="crewgate-push-") as scratch:
        repo = Path(scratch)
        git(repo, "init", "-q", "--bare")
        git(repo, "check-ref-format", ref)
        _fetch_base(repo, remote, base_commit)
        commit = artifact_commit(repo, base_commit, artifact, message, when)
        existing = _remote_ref(repo, remote, ref)
        if existing is None:
            pushed = _run(repo, "push", "--porcelain", f"--force-with-lease={ref}:", remote, f"{commit}:{ref}")
            if pushed.returncode != 0:  # refused: someone (or this promotion, before a crash) made it meanwhile
                existing = _remote_ref(repo, remote, ref)
                if existing is None:
                    raise RemoteUnreachable(f"git push of {branch} to {shown(remote)} failed: {_said(pushed)}")
    if existing is not None and existing != commit:
        raise PromotionError(
            f"branch {branch} already exists on {shown(remote)} at another commit; choose another name"
        )
    return f"{branch}@{commit}"


def _fetch_base(repo: Path, remote: str, base_commit: str) -> None:
    """The base commit's objects, by id if the server allows it, else with every branch."""
    if _run(repo, "fetch", "-q", "--no-tags", remote, base_commit).returncode != 0:
        fetched = _run(repo, "fetch", "-q", "--no-tags", remote, "+refs/heads/*:refs/remotes/promote/*")
        if fetched.returncode != 0:
            raise RemoteUnreachable(f"cannot fetch from {shown(remote)}: {_said(fetched)}")
    if _run(repo, "cat-file", "-e", f"{base_commit}^{{commit}}").returncode != 0:
        raise PromotionError(f"the run's base commit {base_commit[:12]} is not on {shown(remote)}: push it there first")


def _remote_ref(repo: Path, remote: str, ref: str) -> str | None:
    """The commit `ref` names on the remote (exactly that ref: ls-remote also matches names ending alike)."""
    listed = _run(repo, "ls-remote", remote, ref)
    if listed.returncode != 0:
        raise RemoteUnreachable(f"cannot read {ref} on {shown(remote)}: {_said(listed)}")
    for line in listed.stdout.splitlines():
        commit, _, name = line.partition("\t")
        if name == ref:
            return commit
    return None


def shown(text: str) -> str:
    """`text` without the user and password a URL in it may carry (`https://user:token@host/...`)."""
    return re.sub(r"([a-z][a-z0-9+.-]*://)[^/@\s]*@", r"\1", text, flags=re.IGNORECASE)


def _said(done: subprocess.CompletedProcess[str]) -> str:
    """What git said, on one line, without credentials (git may echo the URL)."""
    return shown(" ".join(done.stderr.split()))[-500:]


def _run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed git argv, no shell; the remote cannot be an option (checked)
        ["git", *TRANSPORTS, "-C", str(repo), *args],  # noqa: S607 - git from PATH, as the user runs it
        capture_output=True,
        text=True,
        env={**os.environ, **QUIET},
        check=False,
    )
