"""The git-format diff that reviewers read and the patch target writes, applied by real git."""

import os
import subprocess
from pathlib import Path

import pytest

from workflows.artifacts.gitdiff import Entry, file_diff, quote_path

BEFORE = {
    "text.txt": Entry("file", b"one\ntwo\nthree\n"),
    "run.sh": Entry("file", b"#!/bin/sh\necho hi\n"),
    "empty-old": Entry("file", b""),
    "picture.bin": Entry("file", bytes(range(256)) * 3),
    "becomes-link": Entry("file", b"was a file\n"),
    "crlf.txt": Entry("file", b"a\r\nb\r\n"),
    "gone.txt": Entry("file", b"bye\n"),
}
AFTER = {
    "text.txt": Entry("file", b"one\n2\nthree\nfour"),
    "run.sh": Entry("file", b"#!/bin/sh\necho hi\n", executable=True),
    "empty-new": Entry("file", b""),
    "picture.bin": Entry("file", bytes(range(255, -1, -1)) * 3),
    "becomes-link": Entry("link", b"text.txt"),
    "link": Entry("link", b"sub/target.txt"),
    "crlf.txt": Entry("file", b"a\r\nB\r\n"),
    "new\nline name.txt": Entry("file", b"tricky\n"),
    "evil\u202etxt.py": Entry("file", "x = 1  # \u202e hidden\n".encode()),
    "sub/target.txt": Entry("file", b"target\n"),
}


def git(repo: Path, *args: str, data: bytes | None = None) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], input=data, capture_output=True, check=True)
    return done.stdout.decode()


def write(repo: Path, tree: dict[str, Entry]) -> None:
    for name, entry in tree.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if entry.kind == "link":
            os.symlink(entry.data.decode(), path)
        else:
            path.write_bytes(entry.data)
            path.chmod(0o755 if entry.executable else 0o644)


def tree_of(repo: Path) -> dict[str, Entry]:
    found = {}
    for name in git(repo, "ls-files", "-z").split("\0"):
        if not name:
            continue
        path = repo / name
        if path.is_symlink():
            found[name] = Entry("link", os.readlink(path).encode())
        else:
            found[name] = Entry("file", path.read_bytes(), bool(path.stat().st_mode & 0o100))
    return found


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "core.autocrlf", "false")
    write(repo, BEFORE)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@x.invalid", "commit", "-qm", "base")
    return repo


def test_git_apply_reproduces_every_kind_of_change(repo: Path, tmp_path: Path) -> None:
    paths = sorted(set(BEFORE) | set(AFTER))
    patch = "".join(file_diff(p, BEFORE.get(p), AFTER.get(p)) for p in paths if BEFORE.get(p) != AFTER.get(p))
    (tmp_path / "change.patch").write_bytes(patch.encode())
    git(repo, "apply", "--check", str(tmp_path / "change.patch"))
    git(repo, "apply", "--index", str(tmp_path / "change.patch"))
    assert tree_of(repo) == AFTER


def test_the_diff_shows_what_a_plain_diff_hides() -> None:
    mode_only = file_diff("run.sh", BEFORE["run.sh"], AFTER["run.sh"])
    assert "old mode 100644\nnew mode 100755\n" in mode_only and "@@" not in mode_only
    assert "new file mode 100644" in file_diff("empty-new", None, AFTER["empty-new"])
    assert "deleted file mode 100644" in file_diff("empty-old", BEFORE["empty-old"], None)
    link = file_diff("link", None, AFTER["link"])
    assert "new file mode 120000" in link and "+sub/target.txt\n\\ No newline at end of file" in link
    assert "GIT binary patch" in file_diff("picture.bin", BEFORE["picture.bin"], AFTER["picture.bin"])


def test_names_that_could_forge_lines_are_quoted() -> None:
    assert quote_path("a/plain name.txt") == "a/plain name.txt"
    assert quote_path("a/new\nline") == '"a/new\\nline"'
    assert quote_path("a/evil\u202etxt") == '"a/evil\\342\\200\\256txt"'
    header = file_diff("new\nline", None, Entry("file", b"x\n")).splitlines()[0]
    assert header == 'diff --git "a/new\\nline" "b/new\\nline"'
