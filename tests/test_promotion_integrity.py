"""What is promoted is exactly what was approved, for any workspace (issue 22, items 1, 2 and 5).

Real runs (a check step writes the hostile change in the real sandbox), real git:
names git refuses are named at the gate and approval is refused, never dropped at
promotion; undecodable and control bytes in names reach the terminal escaped and
flagged; a lone CR inside a line is flagged in the change list. Below the gate, each
target's written result is read back against the artifact: a target that would hold
less (or other) than what was approved fails, naming the paths, and leaves nothing.
"""

import json
from pathlib import Path

import pytest

from executors._tarsafe import pack_files
from tests.durable_helpers import Crewgate, git, make_repo
from tests.helpers import crewgate_bytes
from tests.test_gate_integrity import runbook, to_gate
from workflows.artifacts.artifact import build_artifact, read_artifact
from workflows.errors import PromotionError
from workflows.targets.check import check_folder
from workflows.targets.local import promote_directory, promote_git, promote_patch

ONE_APPROVAL_TO_GIT = """\
  - {id: approve, gate: {}}
  - {id: ship, promote: {to: git, repo: "{{ inputs.repo }}", branch: "crewgate/{{ run.id }}"}}
"""
DOT_GIT_SPELLINGS = (".GIT/config", ".Git/x", ".git./y", ".git /z", "git~1/a", "sub/.gIt/b")
INTO_DOT_GIT = f"""
import os, pathlib, shutil
for name in {list(DOT_GIT_SPELLINGS)!r} + ['ok.txt']:
    pathlib.Path(name).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(name).write_text('x\\n')
os.makedirs('.Git/hooks', exist_ok=True)
shutil.move('tool.sh', '.Git/hooks/tool.sh')
"""
RAW_NAMES = r"""
for name in [b'csi_\x9b2J\x9b31m_red.txt', b'nel_\x85+ approved.txt', b'bad_\xff\xfe.txt']:
    with open(name, 'wb') as handle:
        handle.write(b'x\n')
with open('calc/ops.py', 'a') as handle:
    handle.write('x = 1\r+ approved = True\n')
"""


def repo_with_tool(target: Path) -> Path:
    repo = make_repo(target)
    (repo / "tool.sh").write_text("echo tool\n")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=dev", "-c", "user.email=dev@example.invalid", "commit", "-qm", "tool")
    return repo


@pytest.mark.docker
@pytest.mark.slow
def test_names_git_refuses_are_named_at_the_gate_and_approval_is_refused(cg: Crewgate, tmp_path: Path) -> None:
    repo = repo_with_tool(tmp_path / "repo")
    book = runbook(tmp_path / "rb", INTO_DOT_GIT, steps=ONE_APPROVAL_TO_GIT, by_check=True, name="dot-git")
    run_id, review_id = to_gate(cg, book, f"repo={repo}")
    shown = cg.run("review", "show", review_id)
    assert shown.returncode == 0, shown.stderr
    refused_names = [*DOT_GIT_SPELLINGS, ".Git/hooks/tool.sh"]
    assert f"git refuses {len(refused_names)} path(s) of this change" in shown.stdout, shown.stdout
    data = json.loads(cg.run("review", "show", review_id, "--json").stdout)
    assert sorted(data["evidence"]["blocked"]) == sorted(refused_names)
    approve = cg.run("review", "approve", review_id, "--reviewer", "alice")
    assert approve.returncode == 2 and "cannot store" in approve.stderr, approve.stderr
    assert cg.query("SELECT count(*) FROM crewgate_decisions") == [(0,)]
    assert git(repo, "branch", "--list", "crewgate/*") == ""
    rejected = cg.run("review", "reject", review_id, "--reviewer", "alice", "-m", "rename them")
    assert rejected.returncode in (0, 1), rejected.stderr  # a person can still say no
    assert cg.show(run_id)["status"] in ("rejected", "waiting")


@pytest.mark.docker
@pytest.mark.slow
def test_undecodable_and_control_bytes_in_names_and_a_lone_cr_are_escaped_and_flagged(
    cg: Crewgate, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    book = runbook(tmp_path / "rb", RAW_NAMES, steps=ONE_APPROVAL_TO_GIT, by_check=True, name="raw-names")
    _, review_id = to_gate(cg, book, f"repo={repo}")
    raw = crewgate_bytes("review", "show", review_id, env=cg.env())
    for byte in (b"\x9b", b"\x85", b"\xff", b"\r"):
        assert byte not in raw, byte  # checked as bytes: nothing reaches the terminal raw
    text = raw.decode()
    header = text.split("== what approval promotes")[0]
    assert "undecodable byte 0x9B" in header and "undecodable byte 0x85" in header and "undecodable byte 0xFF" in header
    listed = {line for line in text.splitlines() if line.startswith("  added") or line.startswith("  modified")}
    csi = next(line for line in listed if "csi_" in line)
    assert "csi_\\x9b2J\\x9b31m_red.txt" in csi and "[name: undecodable byte 0x9B" in csi
    assert any("bad_\\xff\\xfe.txt" in line and "undecodable byte 0xFF" in line for line in listed)
    ops = next(line for line in listed if "calc/ops.py" in line)
    assert "content: control character U+000D" in ops, ops


def artifact_of(base: dict[str, str], new: dict[str, str]) -> tuple[bytes, object]:
    data, _ = build_artifact(pack_files(base), pack_files(new), "0" * 64)
    return pack_files(base), read_artifact(data)


def test_a_git_tree_that_would_drop_an_approved_path_fails_naming_it_and_creates_no_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    files = {
        path.relative_to(repo).as_posix(): path.read_text()
        for path in repo.rglob("*")
        if path.is_file() and ".git" not in path.parts
    }
    _, artifact = artifact_of(files, {**files, ".GIT/config": "[core]\n", "fine.txt": "ok\n"})
    base = git(repo, "rev-parse", "HEAD")
    with pytest.raises(PromotionError, match=r"'\.GIT/config'") as refused:
        promote_git(repo, base, "crewgate/dropped", artifact, "m", "2026-12-02T00:00:00+00:00")  # type: ignore[arg-type]
    assert "fine.txt" not in str(refused.value)
    assert git(repo, "branch", "--list", "crewgate/*") == ""


def test_a_folder_or_patch_that_would_not_hold_the_approved_bytes_fails_and_leaves_nothing(tmp_path: Path) -> None:
    base_files = {"a.txt": "one\n", "keep.txt": "same\n"}
    base, artifact = artifact_of(base_files, {**base_files, "a.txt": "two\n", "b.txt": "new\n"})
    forged = artifact.files["b.txt"]  # type: ignore[attr-defined]
    artifact.files["b.txt"] = type(forged)(forged.kind, b"other bytes\n", forged.executable)  # type: ignore[attr-defined]
    with pytest.raises(PromotionError, match=r"'b\.txt'"):
        promote_patch(tmp_path / "change.patch", artifact, base)  # type: ignore[arg-type]
    assert not (tmp_path / "change.patch").exists()
    artifact.files["b.txt"] = forged  # type: ignore[attr-defined]
    assert Path(promote_patch(tmp_path / "change.patch", artifact, base)).is_file()  # type: ignore[arg-type]
    out = Path(promote_directory(tmp_path / "out", artifact, "f" * 64))  # type: ignore[arg-type]
    assert (out / "b.txt").read_text() == "new\n" and (out / "a.txt").read_text() == "two\n"
    (out / "b.txt").write_text("changed under us\n")  # what a target that merges or drops a name would leave
    with pytest.raises(PromotionError, match=r"'b\.txt'"):
        check_folder(out, artifact)  # type: ignore[arg-type]


TEN_THOUSAND_FOLDERS = """
import os
for n in range(10000):
    os.makedirs(f'data/d{n:05}')
    open(f'data/d{n:05}/x', 'w').write('x')
"""
SPARSE_GIGABYTE = "import os\nos.makedirs('data')\nopen('data/big.bin', 'wb').truncate(1 << 30)"


@pytest.mark.docker
@pytest.mark.slow
def test_ten_thousand_sibling_folders_reach_the_gate(cg: Crewgate, tmp_path: Path) -> None:
    gate_only = "  - {id: approve, gate: {}}\n"
    book = runbook(tmp_path / "rb", TEN_THOUSAND_FOLDERS, steps=gate_only, by_check=True, name="many-folders")
    _, review_id = to_gate(cg, book, f"repo={make_repo(tmp_path / 'repo')}")
    data = json.loads(cg.run("review", "show", review_id, "--json").stdout)
    assert data["summary"]["added"] == 10000


@pytest.mark.docker
@pytest.mark.slow
def test_a_sparse_gigabyte_fails_the_step_at_once_naming_the_file(cg: Crewgate, tmp_path: Path) -> None:
    import time

    gate_only = "  - {id: approve, gate: {}}\n"
    book = runbook(tmp_path / "rb", SPARSE_GIGABYTE, steps=gate_only, by_check=True, name="sparse")
    began = time.monotonic()
    done = cg.run("run", str(book), "-i", f"repo={make_repo(tmp_path / 'repo')}", "--json")
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert time.monotonic() - began < 60
    shown = cg.show(json.loads(done.stdout.splitlines()[-1])["run"])
    assert "data/big.bin is 1073741824 bytes: the workspace snapshot limit is 67108864 bytes" in shown["message"]
    assert "lost" not in shown["message"]  # refused by name, not an out-of-memory sandbox


def test_a_patch_is_checked_without_the_bases_attributes_or_this_machines_git_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base_files = {".gitattributes": "*.txt text eol=crlf\n", "a.txt": "one\n"}
    base, artifact = artifact_of(base_files, {**base_files, "a.txt": "two\n", "b.txt": "new\n"})
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[core]\n\tautocrlf = true\n")
    monkeypatch.setenv("HOME", str(home))  # a worker whose user converts line ends
    written = Path(promote_patch(tmp_path / "change.patch", artifact, base))  # type: ignore[arg-type]
    assert written.read_bytes() == artifact.diff.encode()  # type: ignore[attr-defined]
