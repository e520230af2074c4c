"""Content-addressed blobs: workspace snapshots and review artifacts, named by their sha256.

Identical bytes from different runs share one file, so every read verifies the
hash first (a corrupt blob never passes for the one that was reviewed), and
every write checks what is already there and replaces it if it is corrupt (so
one damaged blob cannot fail later, unrelated runs).

Storing bytes that are already there marks the blob as stored again (its file's
time, or its row's `created_at`), so `runs prune`, which removes only blobs not
stored since a while before it began, never removes one a starting run has just
been given (`remove_unused`).
"""

import datetime
import hashlib
import os
import tempfile
import uuid
from pathlib import Path
from typing import Protocol

from ..errors import RunError, StoreCorrupt


class BlobCorrupt(StoreCorrupt):
    """A stored blob's bytes no longer hash to its name: it was modified after it was stored."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_sha(sha: str) -> None:
    """A blob name is a sha256 and nothing else (it becomes a file name)."""
    if len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
        raise RunError(f"{sha!r} is not a sha256")


class Blobs(Protocol):
    """Where snapshots and artifacts are kept: a folder (one machine) or the database (PostgreSQL)."""

    def put(self, data: bytes) -> str: ...

    def get(self, sha: str) -> bytes: ...

    def remove_unused(self, sha: str, stored_since: datetime.datetime) -> int:
        """Remove the blob unless it was stored (again) at or after `stored_since`; the bytes freed (0: kept)."""
        ...

    def size(self, sha: str) -> int:
        """How many bytes the blob holds (0: there is none)."""
        ...


class BlobStore:
    """Immutable blobs named by their sha256, under $CREWGATE_HOME/blobs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        check_sha(sha)
        return self.root / sha[:2] / sha

    def put(self, data: bytes) -> str:
        """Store `data` and return its sha256; a corrupt copy already there is replaced."""
        sha = sha256_of(data)
        target = self.path(sha)
        if target.exists() and sha256_of(target.read_bytes()) == sha:
            try:
                os.utime(target)  # stored again: a prune running now keeps it
                return sha
            except FileNotFoundError:
                pass  # pruned between the check and now: stored anew below
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, target)
        return sha

    def get(self, sha: str) -> bytes:
        """The blob's bytes, verified against `sha` (BlobCorrupt if they differ)."""
        try:
            data = self.path(sha).read_bytes()
        except FileNotFoundError as exc:
            raise StoreCorrupt(f"blob {sha[:12]} is missing from {self.root}") from exc
        actual = sha256_of(data)
        if actual != sha:
            raise BlobCorrupt(
                f"blob {sha[:12]} no longer matches its sha256 (its stored bytes now hash to {actual[:12]}): "
                f"it was modified after it was stored in {self.root}"
            )
        return data

    def size(self, sha: str) -> int:
        try:
            return self.path(sha).stat().st_size
        except FileNotFoundError:
            return 0

    def remove_unused(self, sha: str, stored_since: datetime.datetime) -> int:
        """Move the file aside, then look at its time: a `put` that touched it before the move shows there (it
        goes back); one after the move finds no file and writes a new copy. Either way no run loses its blob."""
        target = self.path(sha)
        aside = target.with_name(f".{sha}.pruning-{uuid.uuid4().hex}")
        try:
            os.rename(target, aside)
        except FileNotFoundError:
            return 0
        found = aside.stat()
        if found.st_mtime >= stored_since.timestamp():
            os.replace(aside, target)  # the same bytes as any copy written meanwhile
            return 0
        aside.unlink()
        return found.st_size
