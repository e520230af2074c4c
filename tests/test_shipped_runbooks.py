"""Every shipped runbook, run end to end on its sample repository, through its gate to its target.

The four runs are queued with `crewgate run --detach` and served by one long-running
`crewgate worker`, the way a team runs crewgate: the worker brings them to their
gates together, and carries out each decision made with `--no-wait` (approvals to
promotion, requested changes back to the crew). crewAI and litellm are imported
once for all four runs. `make demo` and the durability tests cover runs hosted
by `crewgate run` and decisions that wait for their run.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.durable_helpers import Crewgate, git, make_repo, queue_runs
from tests.helpers import wait_until
from workflows.store.rows import TERMINAL

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.xdist_group("shipped_runbooks")]

RUNBOOKS = Path(__file__).resolve().parents[1] / "runbooks"


@dataclass
class Shipped:
    """The installation the shipped runs share, its worker, each run's id, and the folders they write to."""

    cg: Crewgate
    folder: Path
    runs: dict[str, str]
    worker_log: Path

    def review_after(self, run_id: str, earlier: str = "", timeout: float = 300) -> str:
        """The run's next pending review (not `earlier`), once the worker has brought it to its gate."""

        def pending() -> list[tuple[Any, ...]]:
            found = self.cg.query(
                "SELECT id FROM crewgate_reviews WHERE run_id = ? AND status = 'pending' AND id != ?", run_id, earlier
            )
            assert found or self.status(run_id) not in TERMINAL, self.story(run_id)
            return found

        return str(wait_until(pending, timeout, lambda: f"no review for {run_id}\n{self.story(run_id)}", 0.2)[0][0])

    def decide(self, review_id: str, decision: str, *args: str) -> None:
        """Decide with `--no-wait`: the command records it and returns; the worker carries it out."""
        done = self.cg.run("review", decision, review_id, *args, "--no-wait")
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    def until_ended(self, run_id: str, timeout: float = 300) -> str:
        wait_until(lambda: self.status(run_id) in TERMINAL, timeout, lambda: self.story(run_id), every=0.2)
        return self.status(run_id)

    def status(self, run_id: str) -> str:
        return str(self.cg.query("SELECT status FROM crewgate_runs WHERE id = ?", run_id)[0][0])

    def story(self, run_id: str) -> str:
        """What a failing test prints: the run as `runs show` has it, and the worker's output."""
        return f"{self.cg.show(run_id)}\nworker output:\n{self.worker_log.read_text()[-4000:]}"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shipped]:
    folder = tmp_path_factory.mktemp("shipped")
    inputs = {
        "fix-failing-tests": {"repo": make_repo(folder / "fix", "calculator-broken")},
        "security-audit": {"repo": make_repo(folder / "audit"), "report_dir": folder / "reports"},
        "crew-review": {"repo": make_repo(folder / "review"), "patch_file": folder / "out" / "change.patch"},
        "pair-programming": {"repo": make_repo(folder / "pair")},
    }
    cg = Crewgate(folder / "home")
    run_ids = queue_runs(cg, [(str(RUNBOOKS / f"{name}.yaml"), values) for name, values in inputs.items()])
    log = folder / "worker.log"
    worker = cg.start_logged(log, "worker", "--concurrency", "4", "--json")
    try:
        yield Shipped(cg, folder, dict(zip(inputs, run_ids, strict=True)), log)
    finally:
        worker.terminate()  # every run has ended or waits at a gate: nothing is left half-done
        worker.wait(timeout=60)


def test_fix_failing_tests_first_fix_fails_its_check_second_passes(shipped: Shipped) -> None:
    """The scripted coder answers per try: its first fix fails the check, which sends it back; the second passes."""
    run_id = shipped.runs["fix-failing-tests"]
    review_id = shipped.review_after(run_id)
    tries = shipped.cg.query(
        "SELECT step_id, attempt, status FROM crewgate_steps WHERE run_id = ? ORDER BY started_at, attempt", run_id
    )
    assert [tuple(row) for row in tries][:5] == [
        ("find", 1, "done"),
        ("fix", 1, "done"),
        ("test", 1, "failed"),
        ("fix", 2, "done"),
        ("test", 2, "done"),
    ], shipped.story(run_id)
    second_fix = [turn for turn in shipped.cg.turns(run_id, "fix") if turn["member"] == "coder"][-1]
    assert "The check `test` failed" in second_fix["messages"][1]["content"]  # its output reached the coder
    shipped.decide(review_id, "approve", "--reviewer", "alice")
    assert shipped.until_ended(run_id) == "promoted", shipped.story(run_id)
    repo = shipped.folder / "fix"
    fixed = git(repo, "show", f"crewgate/fix-{run_id}:calc/ops.py")
    assert "return a + b" in fixed
    assert git(repo, "show", "main:calc/ops.py").count("return a - b") == 2  # main still has the bug


def test_security_audit_with_requested_changes_publishes_to_a_folder(shipped: Shipped) -> None:
    cg, run_id = shipped.cg, shipped.runs["security-audit"]
    first_review = shipped.review_after(run_id)
    shipped.decide(first_review, "request-changes", "--reviewer", "bob", "-m", "mention the tests")
    second_review = shipped.review_after(run_id, earlier=first_review)  # the crew worked again: a new review
    audits = cg.query("SELECT attempt FROM crewgate_steps WHERE run_id = ? AND step_id = 'audit'", run_id)
    assert sorted(a for (a,) in audits) == [1, 2]
    feedback = cg.turns(run_id, "audit")[-1]["messages"][1]["content"]
    assert "Reviewer feedback on the change: mention the tests" in feedback
    shipped.decide(second_review, "approve", "--reviewer", "alice")
    assert shipped.until_ended(run_id) == "promoted", shipped.story(run_id)
    report = (shipped.folder / "reports" / "SECURITY-REPORT.md").read_text()
    assert report.startswith("# Security report") and "approve" in report
    assert cg.show(run_id)["promotion"]["target"] == "directory"


def test_crew_review_hierarchical_crewai_writes_a_patch(shipped: Shipped) -> None:
    run_id = shipped.runs["crew-review"]
    review_id = shipped.review_after(run_id)
    turns = shipped.cg.turns(run_id, "build")
    assert {turn["member"] for turn in turns if turn["status"] != "coordinate"} == {"coder", "tester"}  # delegated
    managed = [turn for turn in turns if turn["member"] == "manager"]
    manager_calls = "SELECT count(*) FROM crewgate_model_calls WHERE run_id = ? AND member = ?"
    calls = shipped.cg.query(manager_calls, run_id, "manager")
    assert managed and all(turn["status"] == "coordinate" for turn in managed) and calls == [(len(managed),)]
    shipped.decide(review_id, "approve", "--reviewer", "alice")
    assert shipped.until_ended(run_id) == "promoted", shipped.story(run_id)
    text = (shipped.folder / "out" / "change.patch").read_text()
    assert "+def multiply(a: float, b: float) -> float:" in text
    applied = git(shipped.folder / "review", "apply", "--check", str(shipped.folder / "out" / "change.patch"))
    assert applied == ""


def test_pair_programming_autogen_round_robin(shipped: Shipped) -> None:
    run_id = shipped.runs["pair-programming"]
    review_id = shipped.review_after(run_id)
    turns = shipped.cg.turns(run_id, "pair")
    assert [t["member"] for t in turns if t["status"] == "final"] == ["coder", "tester"]
    shipped.decide(review_id, "approve", "--reviewer", "alice")
    assert shipped.until_ended(run_id) == "promoted", shipped.story(run_id)
    assert "def multiply" in git(shipped.folder / "pair", "show", f"crewgate/pair-{run_id}:calc/ops.py")
