"""Durable runs, the gate and promotion, with real processes killed by SIGKILL.

Every test drives the real `crewgate` command against a private database,
a real git repository and real Docker sandboxes. Crashes are real: the
process is killed with SIGKILL, then another process carries on.
"""

import datetime
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, durable_runbook, git, kill, last_event, pending_review
from tests.helpers import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def start_to_gate(cg: Crewgate, runbook: Path, repo: Path) -> tuple[str, str]:
    """Run to the gate; return (run id, review id)."""
    done = cg.run("run", str(runbook), "-i", f"repo={repo}", "--json")
    assert done.returncode == 10, done.stdout[-2000:] + done.stderr[-2000:]
    event = last_event(done.stdout)
    assert event["status"] == "waiting"
    return event["run"], event["review"]


def branch_commits(repo: Path, run_id: str) -> list[str]:
    return git(repo, "rev-list", f"main..crewgate/{run_id}").splitlines()


def assert_promoted_once(cg: Crewgate, repo: Path, run_id: str) -> None:
    view = cg.show(run_id)
    assert view["status"] == "promoted", view
    assert view["promotion"]["target"] == "git"
    commits = branch_commits(repo, run_id)
    assert len(commits) == 1, commits
    assert view["promotion"]["ref"] == f"crewgate/{run_id}@{commits[0]}"
    body = git(repo, "log", "-1", "--format=%B", commits[0])
    assert f"Crewgate-Run: {run_id}" in body and "Crewgate-Runbook: durable-test@1.0.0" in body
    assert f"Crewgate-Artifact-SHA256: {view['promotion']['artifact_sha256']}" in body and "Approved-by: alice" in body
    assert "def multiply" in git(repo, "show", f"{commits[0]}:calc/ops.py")
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"  # the user's checkout is untouched
    assert git(repo, "status", "--porcelain") == ""
    assert len(cg.query("SELECT * FROM crewgate_promotions WHERE run_id = ?", run_id)) == 1


def test_gate_request_changes_then_approve_promotes(cg: Crewgate, repo: Path, tmp_path: Path) -> None:
    runbook = durable_runbook(tmp_path / "rb", by_check=True)
    run_id, review_id = start_to_gate(cg, runbook, repo)
    assert cg.query("SELECT status FROM crewgate_runs WHERE id = ?", run_id) == [("waiting",)]
    listing = json.loads(cg.run("review", "list", "--json").stdout)
    assert listing[0]["id"] == review_id and listing[0]["status"] == "pending"
    assert {"id", "run_id", "runbook", "status", "artifact_sha256", "created_at"} <= set(listing[0])
    nowhere = cg.run("review", "request-changes", review_id, "--reviewer", "bob", "-m", "again")  # checks only
    assert nowhere.returncode == 2 and "no task or crew step before gate 'approve'" in nowhere.stderr, nowhere.stderr
    unknown = cg.run("review", "request-changes", review_id, "--reviewer", "bob", "-m", "again", "--step", "ship")
    assert unknown.returncode == 2 and "(one of: implement, test)" in unknown.stderr, unknown.stderr
    assert cg.query("SELECT COUNT(*) FROM crewgate_decisions") == [(0,)]  # refused before anything was recorded
    changes = cg.run("review", "request-changes", review_id, "--reviewer", "bob", "-m", "again", "--step", "test")
    assert changes.returncode == 10, changes.stdout + changes.stderr  # the test step re-ran: back at the gate
    assert cg.query("SELECT status FROM crewgate_reviews WHERE id = ?", review_id) == [("changes_requested",)]
    tests = cg.query("SELECT attempt FROM crewgate_steps WHERE run_id = ? AND step_id = 'test'", run_id)
    assert sorted(attempt for (attempt,) in tests) == [1, 2]
    second = pending_review(cg, run_id)
    shown = json.loads(cg.run("review", "show", second, "--json").stdout)
    assert "+def multiply(a, b):" in shown["diff"]
    assert "passed" in shown["evidence"]["outputs"]["test"]
    approved = cg.run("review", "approve", second, "--reviewer", "alice", "--sha256", shown["artifact_sha256"])
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert_promoted_once(cg, repo, run_id)
    assert cg.show_by_command(run_id) == cg.show(run_id)  # the command prints the service layer's view


def test_decisions_that_break_the_rules_are_refused(cg: Crewgate, repo: Path, tmp_path: Path) -> None:
    run_id, review_id = start_to_gate(cg, durable_runbook(tmp_path / "rb", by_check=True), repo)
    refusals = {
        "started this run": cg.run("review", "approve", review_id, "--reviewer", "requester"),
        "no review item": cg.run("review", "approve", "nope", "--reviewer", "alice"),
        "is not the artifact": cg.run("review", "approve", review_id, "--reviewer", "bob", "--sha256", "0" * 64),
    }
    for words, done in refusals.items():
        assert done.returncode == 2 and words in done.stderr, (words, done.stderr)
    assert cg.query("SELECT COUNT(*) FROM crewgate_decisions") == [(0,)]  # nothing changed
    rejected = cg.run("review", "reject", review_id, "--reviewer", "carol", "-m", "not this way")
    assert rejected.returncode == 1, rejected.stdout + rejected.stderr
    again = cg.run("review", "approve", review_id, "--reviewer", "alice")
    assert again.returncode == 2 and "closed (rejected)" in again.stderr
    assert cg.show(run_id)["status"] == "rejected"
    assert git(repo, "branch", "--list", f"crewgate/{run_id}") == ""


def test_twenty_concurrent_approvals_record_one_approval_and_one_promotion(
    cg: Crewgate, repo: Path, tmp_path: Path
) -> None:
    run_id, review_id = start_to_gate(cg, durable_runbook(tmp_path / "rb", by_check=True), repo)
    reviewers = ["alice"] * 10 + [f"reviewer{n}" for n in range(10)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda name: cg.run("review", "approve", review_id, "--reviewer", name), reviewers))
    codes = sorted(done.returncode for done in results)
    assert codes == [0] + [2] * 19, [(d.returncode, d.stderr[-300:]) for d in results]
    assert cg.query("SELECT COUNT(*) FROM crewgate_decisions WHERE review_id = ?", review_id) == [(1,)]
    winner = cg.query("SELECT reviewer FROM crewgate_decisions")[0][0]
    view = cg.show(run_id)
    assert view["status"] == "promoted"
    assert len(branch_commits(repo, run_id)) == 1
    assert f"Approved-by: {winner}" in git(repo, "log", "-1", "--format=%B", f"crewgate/{run_id}")


def test_tampered_artifact_is_not_promoted(cg: Crewgate, repo: Path, tmp_path: Path) -> None:
    run_id, review_id = start_to_gate(cg, durable_runbook(tmp_path / "rb", by_check=True), repo)
    sha = cg.query("SELECT artifact_sha256 FROM crewgate_reviews WHERE id = ?", review_id)[0][0]
    blob = cg.home / "blobs" / sha[:2] / sha
    blob.write_bytes(blob.read_bytes().replace(b"return a * b", b"return a ** b"))
    shown = json.loads(cg.run("review", "show", review_id, "--json").stdout)
    assert "no longer matches its sha256" in shown["artifact_problem"] and shown["changes"] == []
    done = cg.run("review", "approve", review_id, "--reviewer", "alice")
    view = cg.show(run_id)
    if view["status"] == "failed":  # the tampered bytes were found at promotion
        assert done.returncode == 1 and "no longer matches its approved sha256" in view["message"]
        assert view["promotion"] is None and git(repo, "branch", "--list", f"crewgate/{run_id}") == ""
    else:  # the gate step ran again before promotion and stored the reviewed bytes anew, mending the blob
        assert done.returncode == 0 and view["status"] == "promoted", done.stdout + done.stderr
        promoted = git(repo, "show", f"crewgate/{run_id}:calc/ops.py")
        assert "return a * b" in promoted and "a ** b" not in promoted
    assert blob.read_bytes() != b"" and "a ** b" not in git(repo, "log", "--all", "-p")


def test_kill_while_waiting_and_full_restart(cg: Crewgate, repo: Path, tmp_path: Path) -> None:
    run_id, review_id = start_to_gate(cg, durable_runbook(tmp_path / "rb", by_check=True), repo)
    containers = cg.run("sandbox", "prune", "--json")  # a waiting run holds no container
    assert containers.returncode == 0
    worker = cg.start("worker", "--json")  # a process that hosts the waiting run...
    assert worker.stdout is not None and json.loads(worker.stdout.readline())["status"] == "started"
    kill(worker)  # ...dies with it
    assert cg.show(run_id)["status"] == "waiting"
    done = cg.run("review", "approve", review_id, "--reviewer", "alice")
    assert done.returncode == 0, done.stdout + done.stderr
    assert_promoted_once(cg, repo, run_id)


def test_kill_right_after_the_approval_is_recorded(cg: Crewgate, repo: Path, tmp_path: Path) -> None:
    run_id, review_id = start_to_gate(cg, durable_runbook(tmp_path / "rb", by_check=True), repo)
    approving = cg.start(
        "review", "approve", review_id, "--reviewer", "alice", CREWGATE_FAULT_PAUSE="after-decision:60"
    )
    cg.wait_for("SELECT 1 FROM crewgate_decisions WHERE review_id = ?", review_id)
    kill(approving)
    assert cg.show(run_id)["status"] == "waiting"
    resumed = cg.run("runs", "resume", run_id)  # the approval was not lost
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert_promoted_once(cg, repo, run_id)


def test_kill_during_promotion(cg: Crewgate, repo: Path, tmp_path: Path) -> None:
    run_id, review_id = start_to_gate(cg, durable_runbook(tmp_path / "rb", by_check=True), repo)
    approving = cg.start(
        "review", "approve", review_id, "--reviewer", "alice", CREWGATE_FAULT_PAUSE="during-promotion:60"
    )
    cg.wait_for("SELECT 1 FROM crewgate_promotions WHERE run_id = ?", run_id)
    wait_until(lambda: git(repo, "branch", "--list", f"crewgate/{run_id}"), 60, "the promotion's branch")
    kill(approving)  # the branch exists, the promotion is not recorded as done
    assert cg.query("SELECT status FROM crewgate_promotions WHERE run_id = ?", run_id) == [("started",)]
    resumed = cg.run("runs", "resume", run_id)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert_promoted_once(cg, repo, run_id)


def test_an_expired_review_refuses_decisions_and_ends_the_run(cg: Crewgate, repo: Path, tmp_path: Path) -> None:
    runbook = durable_runbook(tmp_path / "rb", by_check=True)
    runbook.write_text(runbook.read_text().replace("gate: {}", "gate: {expires_after: 2s}"))
    run_id, review_id = start_to_gate(cg, runbook, repo)
    expires_at = datetime.datetime.fromisoformat(cg.query("SELECT expires_at FROM crewgate_reviews")[0][0])
    # the deciding command is a real process reading the database's clock: real time must pass the expiry
    wait_until(lambda: datetime.datetime.now(datetime.UTC) > expires_at, 30, "the review's expiry", every=0.05)
    late = cg.run("review", "approve", review_id, "--reviewer", "alice")
    assert late.returncode == 2 and "expired" in late.stderr
    assert cg.query("SELECT COUNT(*) FROM crewgate_decisions") == [(0,)]
    resumed = cg.run("runs", "resume", run_id)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr
    view = cg.show(run_id)
    assert view["status"] == "rejected" and "expired" in view["message"]
    assert json.loads(cg.run("review", "list", "--json").stdout)[0]["status"] == "expired"
    assert git(repo, "branch", "--list", f"crewgate/{run_id}") == ""


def test_detached_runs_are_run_by_a_worker_and_a_run_at_its_gate_frees_its_slot(
    cg: Crewgate, repo: Path, tmp_path: Path
) -> None:
    """With room for one working run, the second starts once the first waits at its gate (it once stayed queued)."""
    book = str(durable_runbook(tmp_path / "rb", by_check=True))
    queued = cg.run("run", book, "-i", f"repo={repo}", "--detach")
    assert queued.returncode == 0 and "queued run" in queued.stdout, queued.stderr
    second = cg.run("run", book, "-i", f"repo={repo}", "--detach", "--json")
    assert second.returncode == 0, second.stderr
    event = last_event(second.stdout)
    assert event["status"] == "queued" and event["runbook"] == "durable-test@1.0.0"
    run_ids = [row[0] for row in cg.query("SELECT id FROM crewgate_runs ORDER BY created_at")]
    assert run_ids[1] == event["run"] and [cg.show(r)["status"] for r in run_ids] == ["queued", "queued"]
    worker = cg.run("worker", "--until-idle", "--concurrency", "1", timeout=300)
    assert worker.returncode == 0, worker.stdout[-2000:] + worker.stderr[-2000:]
    assert [cg.show(r)["status"] for r in run_ids] == ["waiting", "waiting"]
    review_id = cg.query("SELECT id FROM crewgate_reviews WHERE run_id = ?", run_ids[0])[0][0]
    done = cg.run("review", "approve", review_id, "--reviewer", "alice")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert_promoted_once(cg, repo, run_ids[0])
    assert cg.show(run_ids[1])["status"] == "waiting"  # its own review is still pending


def test_a_cancelled_run_refuses_decisions(cg: Crewgate, repo: Path, tmp_path: Path) -> None:
    run_id, review_id = start_to_gate(cg, durable_runbook(tmp_path / "rb", by_check=True), repo)
    cancelled = cg.run("runs", "cancel", run_id)
    assert cancelled.returncode == 0, cancelled.stderr
    late = cg.run("review", "approve", review_id, "--reviewer", "alice")
    assert late.returncode == 2 and "already ended (cancelled)" in late.stderr
    assert cg.show(run_id)["status"] == "cancelled"
    assert cg.query("SELECT status FROM crewgate_reviews WHERE id = ?", review_id) == [("cancelled",)]
    assert git(repo, "branch", "--list", f"crewgate/{run_id}") == ""


def test_a_reader_that_goes_away_ends_the_run_command_and_the_run_carries_on(
    cg: Crewgate, repo: Path, tmp_path: Path
) -> None:
    """`crewgate run ... | head -1`: the closed pipe ends the command (it once hung on DBOS's threads)."""
    running = cg.start("run", str(durable_runbook(tmp_path / "rb", by_check=True)), "-i", f"repo={repo}", "--json")
    assert running.stdout is not None and running.stderr is not None
    run_id = json.loads(running.stdout.readline())["run"]
    running.stdout.close()
    assert running.wait(timeout=120) != 0
    running.stderr.close()
    resumed = cg.run("runs", "resume", run_id, "--json")
    assert resumed.returncode == 10, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert cg.show(run_id)["status"] == "waiting"
