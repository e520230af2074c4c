"""Every shipped runbook, run end to end on its sample repository, through its gate to its target."""

from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, git, last_event, make_repo

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RUNBOOKS = Path(__file__).resolve().parents[1] / "runbooks"


def run_to_gate(cg: Crewgate, runbook: str, *inputs: str) -> tuple[str, str]:
    args = [item for pair in inputs for item in ("-i", pair)]
    done = cg.run("run", str(RUNBOOKS / f"{runbook}.yaml"), *args, "--json")
    assert done.returncode == 10, done.stdout[-3000:] + done.stderr[-3000:]
    event = last_event(done.stdout)
    return event["run"], event["review"]


def approve(cg: Crewgate, review_id: str) -> None:
    done = cg.run("review", "approve", review_id, "--reviewer", "alice")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_fix_failing_tests(cg: Crewgate, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "calculator-broken")
    run_id, review_id = run_to_gate(cg, "fix-failing-tests", f"repo={repo}")
    approve(cg, review_id)
    fixed = git(repo, "show", f"crewgate/fix-{run_id}:calc/ops.py")
    assert "return a + b" in fixed
    assert git(repo, "show", "main:calc/ops.py").count("return a - b") == 2  # main still has the bug


def test_security_audit_with_requested_changes_publishes_to_a_folder(cg: Crewgate, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    reports = tmp_path / "reports"
    run_id, first_review = run_to_gate(cg, "security-audit", f"repo={repo}", f"report_dir={reports}")
    changes = cg.run("review", "request-changes", first_review, "--reviewer", "bob", "-m", "mention the tests")
    assert changes.returncode == 10, changes.stdout[-2000:] + changes.stderr[-2000:]  # back at the gate
    pending = cg.query("SELECT id FROM crewgate_reviews WHERE run_id = ? AND status = 'pending'", run_id)
    assert len(pending) == 1 and pending[0][0] != first_review
    second_review = pending[0][0]
    audits = cg.query("SELECT attempt FROM crewgate_steps WHERE run_id = ? AND step_id = 'audit'", run_id)
    assert sorted(a for (a,) in audits) == [1, 2]
    feedback = cg.turns(run_id, "audit")[-1]["messages"][1]["content"]
    assert "Reviewer feedback on the change: mention the tests" in feedback
    approve(cg, second_review)
    report = (reports / "SECURITY-REPORT.md").read_text()
    assert report.startswith("# Security report") and "approve" in report
    assert cg.show(run_id)["promotion"]["target"] == "directory"


def test_crew_review_hierarchical_crewai_writes_a_patch(cg: Crewgate, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    patch = tmp_path / "out" / "change.patch"
    run_id, review_id = run_to_gate(cg, "crew-review", f"repo={repo}", f"patch_file={patch}")
    members = {turn["member"] for turn in cg.turns(run_id, "build")}
    assert members == {"coder", "tester"}  # the manager delegated to both
    approve(cg, review_id)
    text = patch.read_text()
    assert "+def multiply(a: float, b: float) -> float:" in text
    applied = git(repo, "apply", "--check", str(patch))
    assert applied == ""


def test_pair_programming_autogen_round_robin(cg: Crewgate, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run_id, review_id = run_to_gate(cg, "pair-programming", f"repo={repo}")
    turns = cg.turns(run_id, "pair")
    assert [t["member"] for t in turns if t["status"] == "final"] == ["coder", "tester"]
    approve(cg, review_id)
    assert "def multiply" in git(repo, "show", f"crewgate/pair-{run_id}:calc/ops.py")
