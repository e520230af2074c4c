"""Several workers on PostgreSQL share one batch; one dies mid-step and another takes its run over.

Three `crewgate worker` processes serve a batch of nine add-feature runs
(concurrency 3) from one PostgreSQL database, blobs included. The worker hosting
a run whose coder is mid-cell is SIGKILLed. Every run still reaches its gate,
no step that had finished runs again (its row keeps its start and end times),
the killed run's recorded model replies are replayed, not asked again, and nine
approvals give nine branches of one commit and nine promotion rows.
"""

import json
import shutil
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, git, kill, logged_events, make_repo, wait_for_event

RUNBOOKS = Path(__file__).resolve().parents[1] / "runbooks"
CODER_CELL = "    from pathlib import Path\n    ops = Path('calc/ops.py')"


def slow_add_feature(folder: Path, seconds: float) -> Path:
    """The shipped add-feature runbook, its coder's first cell sleeping `seconds` in the sandbox."""
    (folder / "scripts").mkdir(parents=True)
    shutil.copy(RUNBOOKS / "add-feature.yaml", folder / "add-feature.yaml")
    script = (RUNBOOKS / "scripts" / "add-feature.yaml").read_text()
    assert CODER_CELL in script
    slow = script.replace(CODER_CELL, f"    import time\n    time.sleep({seconds})\n{CODER_CELL}", 1)
    (folder / "scripts" / "add-feature.yaml").write_text(slow)
    return folder / "add-feature.yaml"


def finished_steps(cg: Crewgate) -> set[tuple[str, ...]]:
    rows = cg.query(
        "SELECT run_id, step_id, attempt, started_at, finished_at FROM crewgate_steps WHERE status = 'done'"
    )
    return {tuple(str(value) for value in row) for row in rows}


def most_working_at_once(cg: Crewgate, batch_id: str) -> int:
    """The most runs of the batch working at one moment: from a run's first step to its gate."""
    rows = cg.query(
        "SELECT s.run_id, min(s.started_at), max(CASE WHEN s.kind = 'gate' THEN s.started_at END) "
        "FROM crewgate_steps s JOIN crewgate_runs r ON r.id = s.run_id WHERE r.batch_id = ? GROUP BY s.run_id",
        batch_id,
    )
    edges = sorted([(str(start), 1) for _, start, _ in rows] + [(str(gate), -1) for _, _, gate in rows])
    working = most = 0
    for _, change in edges:
        working += change
        most = max(most, working)
    return most


@pytest.mark.postgres
@pytest.mark.docker
@pytest.mark.slow
def test_three_workers_share_a_batch_and_take_over_a_killed_workers_run(pg_cg: Crewgate, tmp_path: Path) -> None:
    cg = pg_cg
    runbook = slow_add_feature(tmp_path / "rb", seconds=6)
    repos = [make_repo(tmp_path / f"repo{n}") for n in range(9)]
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"repo": str(repo)}) + "\n" for repo in repos))
    started = cg.run("batch", "start", str(runbook), "--inputs", str(rows), "--concurrency", "3", "--detach", "--json")
    assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
    batch = json.loads(started.stdout.splitlines()[0])
    logs = [tmp_path / f"worker{n}.log" for n in range(3)]
    workers = [cg.start_logged(log, "worker", "--json", "--concurrency", "3") for log in logs]
    for log in logs:
        wait_for_event(log, "started")

    victim_run = str(cg.wait_for("SELECT run_id FROM crewgate_model_calls WHERE member = 'coder'", timeout=300)[0][0])
    executor = cg.query("SELECT executor_id FROM dbos.workflow_status WHERE workflow_uuid = ?", victim_run)[0][0]
    pid = cg.query("SELECT pid FROM crewgate_hosts WHERE executor_id = ?", executor)[0][0]
    victim = next(worker for worker in workers if worker.pid == pid)
    listed = json.loads(cg.run("workers", "--json").stdout)
    alive_workers = {view["executor_id"] for view in listed if view["alive"] and view["kind"] == "worker"}
    assert len(alive_workers) == 3 and executor in alive_workers
    assert victim_run in next(view["hosting"] for view in listed if view["executor_id"] == executor)
    kill(victim)  # mid-step: the coder's first cell sleeps 6 s in the sandbox
    before = finished_steps(cg)
    gone = json.loads(cg.run("workers", "--json").stdout)
    assert [view["alive"] for view in gone if view["executor_id"] == executor] == [False]
    survivors = [worker for worker in workers if worker is not victim]

    cg.wait_for(
        "SELECT count(*) FROM crewgate_runs WHERE batch_id = ? AND status = 'waiting' HAVING count(*) = 9",
        batch["id"],
        timeout=600,
    )
    after = finished_steps(cg)
    assert most_working_at_once(cg, batch["id"]) <= 3  # the batch's concurrency, across three workers
    assert before <= after, before - after  # no step that had finished ran again (it would have new times)
    events = [event for log in logs for event in logged_events(log)]
    taken = {run for event in events if event.get("status") == "took over" for run in event["runs"]}
    assert victim_run in taken
    replies = cg.query(
        "SELECT scope, member, count(*) FROM crewgate_model_calls WHERE run_id = ? GROUP BY 1, 2", victim_run
    )
    normal = cg.query(
        "SELECT scope, member, count(*) FROM crewgate_model_calls WHERE run_id = ? GROUP BY 1, 2",
        next(run for run in batch["runs"] if run != victim_run),
    )
    assert sorted(replies) == sorted(normal)  # the killed run's recorded replies were replayed, not asked again

    for run_id in batch["runs"]:
        review = cg.query("SELECT id FROM crewgate_reviews WHERE run_id = ? AND status = 'pending'", run_id)[0][0]
        decided = cg.run("review", "approve", review, "--reviewer", "alice", "--no-wait")
        assert decided.returncode == 0, decided.stderr
    cg.wait_for(
        "SELECT count(*) FROM crewgate_runs WHERE batch_id = ? AND status = 'promoted' HAVING count(*) = 9",
        batch["id"],
        timeout=300,
    )
    for worker in survivors:
        kill(worker)
    assert cg.query("SELECT count(*), count(DISTINCT run_id) FROM crewgate_promotions WHERE status = 'done'") == [
        (9, 9)
    ]
    for repo in repos:
        branches = git(repo, "branch", "--list", "crewgate/*", "--format=%(refname:short)").split()
        assert len(branches) == 1, branches
        assert git(repo, "rev-list", "--count", f"main..{branches[0]}") == "1"
