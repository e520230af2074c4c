"""Promotion to a git remote from another machine, exactly once, even when the pusher dies mid-push.

Two "machines" share one PostgreSQL database and nothing else (each has its own
CREWGATE_HOME, so no blob folder is shared). A run hosted by worker A waits at
its gate; machine B approves it; worker A promotes by pushing a new branch to a
bare repository whose pre-receive hook holds the push open; A is SIGKILLed there.
Worker B takes the run over and promotes again: one branch, one commit, one
promotion row, whether A's orphaned push landed first or not.
"""

import stat
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, durable_runbook, git, kill, last_event, make_repo, wait_for_event
from tests.helpers import wait_until
from workflows.errors import PromotionError
from workflows.targets.remote import promote_git_remote

SHIP_LOCAL = 'promote: {to: git, repo: "{{ inputs.repo }}", branch: "crewgate/{{ run.id }}"}'
SHIP_REMOTE = 'promote: {to: git, remote: "{{ inputs.remote }}", branch: "crewgate/{{ run.id }}"}'


def remote_runbook(folder: Path) -> Path:
    """The crash-test runbook (check steps), promoting by push to the `remote` input."""
    runbook = durable_runbook(folder, by_check=True)
    text = runbook.read_text()
    assert SHIP_LOCAL in text
    text = text.replace(SHIP_LOCAL, SHIP_REMOTE).replace(
        "  repo: {type: path}", "  repo: {type: path}\n  remote: {type: string}"
    )
    runbook.write_text(text)
    return runbook


def hold_pushes(remote: Path, marker: Path, seconds: float) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\nsleep {seconds}\n")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)


@pytest.mark.postgres
@pytest.mark.docker
@pytest.mark.slow
def test_a_push_interrupted_by_sigkill_is_finished_once_by_another_machine(pg_cg: Crewgate, tmp_path: Path) -> None:
    machine_a = pg_cg
    machine_b = Crewgate(tmp_path / "home-b", database_url=pg_cg.database_url)
    repo = make_repo(tmp_path / "repo")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(remote))
    runbook = remote_runbook(tmp_path / "rb")
    queued = machine_a.run("run", str(runbook), "-i", f"repo={repo}", "-i", f"remote={remote}", "--detach", "--json")
    assert queued.returncode == 0, queued.stdout[-2000:] + queued.stderr[-2000:]
    run_id = last_event(queued.stdout)["run"]
    log_a = tmp_path / "worker-a.log"
    worker_a = machine_a.start_logged(log_a, "worker", "--json")
    review = machine_a.wait_for("SELECT id FROM crewgate_reviews WHERE run_id = ? AND status = 'pending'", run_id)[0][0]

    pushing = tmp_path / "pushing"
    hold_pushes(remote, pushing, seconds=3)
    approved = machine_b.run("review", "approve", review, "--reviewer", "alice", "--no-wait")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    wait_until(pushing.exists, 120, lambda: log_a.read_text()[-3000:], every=0.05)
    kill(worker_a)  # mid-push: the server is inside its pre-receive hook

    log_b = tmp_path / "worker-b.log"
    worker_b = machine_b.start_logged(log_b, "worker", "--json")
    wait_for_event(log_b, "took over")
    machine_b.wait_for("SELECT 1 FROM crewgate_runs WHERE id = ? AND status = 'promoted'", run_id, timeout=120)
    kill(worker_b)

    branch = f"crewgate/{run_id}"
    assert git(remote, "rev-list", "--count", f"main..{branch}") == "1"
    assert "Approved-by: alice" in git(remote, "log", "-1", "--format=%B", branch)
    assert git(repo, "branch", "--list", "crewgate/*") == ""  # the local repository is not the target
    promotions = machine_b.query("SELECT status, ref FROM crewgate_promotions WHERE run_id = ?", run_id)
    assert promotions == [("done", f"{branch}@{git(remote, 'rev-parse', branch)}")]
    assert not (machine_a.home / "blobs").exists() and not (machine_b.home / "blobs").exists()  # in the database


def test_a_remote_branch_at_another_commit_is_refused_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workflows.artifacts.artifact import build_artifact
    from workflows.repo.base_tree import commit_snapshot

    repo = make_repo(tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(remote))
    (repo / "calc" / "ops.py").write_text("# changed\n")
    git(repo, "-c", "user.name=dev", "-c", "user.email=dev@example.invalid", "commit", "-qam", "other")
    _, artifact = build_artifact(commit_snapshot(repo, base, 1 << 20), commit_snapshot(repo, "HEAD", 1 << 20), "0" * 64)
    when = "2026-01-01T00:00:00+00:00"
    ref = promote_git_remote(str(remote), base, "crewgate/x", artifact, "one", when)
    assert promote_git_remote(str(remote), base, "crewgate/x", artifact, "one", when) == ref  # a retry: its own commit
    with pytest.raises(PromotionError, match="already exists on .* at another commit"):
        promote_git_remote(str(remote), base, "crewgate/x", artifact, "another message", when)
    with pytest.raises(PromotionError, match="is not a git remote URL"):
        promote_git_remote("--upload-pack=touch /tmp/owned", base, "crewgate/y", artifact, "one", when)
    assert git(remote, "rev-parse", "crewgate/x") == ref.split("@")[1]

    monkeypatch.setattr("workflows.targets.remote.TRIES", 1)  # no waiting between tries here
    with pytest.raises(PromotionError) as refused:  # a transport that runs a command: not allowed
        promote_git_remote(f"ext::sh -c touch% {tmp_path / 'owned'}", base, "crewgate/z", artifact, "one", when)
    assert not (tmp_path / "owned").exists() and "ext::" in str(refused.value)
    with pytest.raises(PromotionError) as unreachable:
        promote_git_remote("https://bob:s3cret-token@127.0.0.1:9/x.git", base, "crewgate/z", artifact, "one", when)
    assert "s3cret-token" not in str(unreachable.value) and "https://127.0.0.1:9/x.git" in str(unreachable.value)
