"""Cancel stops the spending: running cells end at once, containers go within 5 s, queued runs never start,
no model is called after the command returns, and the cancelled runs' reviews leave the queue."""

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, last_event, logged_events
from tests.fake_openai import FakeOpenAI, serve
from tests.helpers import wait_until
from tests.schedule_helpers import write_runbook
from tests.test_run_durability import REPLIES, http_runbook

pytestmark = [pytest.mark.docker, pytest.mark.slow]
SLEEPING = '  - {name: unused, cron: "0 3 * * *"}\n'


def containers_of(run_ids: list[str], every: bool = True) -> list[str]:
    found = []
    for run_id in run_ids:
        listed = subprocess.run(
            ["docker", "ps", "-q", *(["-a"] if every else []), "--filter", f"label=crewgate.run={run_id}"],
            capture_output=True,
            text=True,
            check=True,
        )
        found += listed.stdout.split()
    return found


def created_since(run_ids: list[str], since: float) -> list[str]:
    """Containers of these runs Docker created after `since` (removed ones too)."""
    found = []
    for run_id in run_ids:
        window = ["--since", f"{since:.3f}", "--until", f"{time.time():.3f}"]
        events = subprocess.run(
            ["docker", "events", *window, "--filter", "event=create", "--filter", f"label=crewgate.run={run_id}"],
            capture_output=True,
            text=True,
            check=True,
        )
        found += events.stdout.split()
    return found


def within(seconds: float, condition: Callable[[], object], why: str) -> float:
    """Wait for `condition` at most `seconds`; how long it took."""
    began = time.monotonic()
    wait_until(condition, seconds, why)
    return time.monotonic() - began


def test_cancelling_a_batch_kills_its_cells_removes_its_containers_and_never_starts_its_queued_runs(
    cg: Crewgate, tmp_path: Path
) -> None:
    runbook = write_runbook(tmp_path / "rb", SLEEPING)
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"seconds": 60}\n' * 4)
    queued = cg.run("batch", "start", str(runbook), "--inputs", str(rows), "--concurrency", "2", "--detach", "--json")
    assert queued.returncode == 0, queued.stderr
    batch = json.loads(queued.stdout.splitlines()[0])
    runs = list(batch["runs"])
    log = tmp_path / "worker.log"
    worker = cg.start_logged(log, "worker", "--json", "--concurrency", "4")
    cg.wait_for("SELECT count(*) FROM crewgate_steps WHERE status = 'running' HAVING count(*) = 2", timeout=120)
    within(30, lambda: len(containers_of(runs, every=False)) == 2, "two sandboxes running their cells")

    cancelled = cg.run("batch", "cancel", batch["id"], "--json")
    returned = time.time()
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["counts"]["cancelled"] == 4
    took = within(5, lambda: not containers_of(runs), "every container of the batch removed")
    working = [e["run"] for e in logged_events(log) if e["event"] == "run" and e["status"] == "started"]

    def seen_ending() -> bool:
        return {e["run"] for e in logged_events(log) if e.get("status") == "cancelled"} >= set(working)

    within(5, seen_ending, "the worker sees its runs end")
    assert worker.poll() is None
    assert created_since(runs, returned) == [], "no sandbox was started after the cancel returned"
    never_started = [run for run in runs if run not in working]
    assert len(never_started) == 2
    steps = cg.query("SELECT count(*) FROM crewgate_steps WHERE run_id IN (?, ?)", *never_started)
    assert steps == [(0,)]
    assert {status for _, status in cg.query("SELECT id, status FROM crewgate_runs")} == {"cancelled"}
    stopped = cg.query("SELECT run_id, data FROM crewgate_trace WHERE member = 'crewgate' AND data LIKE '%cancelled%'")
    assert {run for run, _ in stopped} >= set(working)  # where each stopped is in its trace
    worker.kill()
    worker.communicate(timeout=30)
    print(f"containers gone {took:.1f} s after the cancel returned")


def test_cancelling_runs_at_their_gates_closes_their_reviews(cg: Crewgate, tmp_path: Path) -> None:
    runbook = write_runbook(tmp_path / "rb", SLEEPING, gate_only=True)
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"seconds": 0}\n' * 2)
    done = cg.run("batch", "start", str(runbook), "--inputs", str(rows), "--json")
    assert done.returncode == 10, done.stdout[-2000:] + done.stderr[-2000:]
    batch = json.loads(done.stdout.splitlines()[0])["id"]
    assert cg.run("batch", "cancel", batch).returncode == 0
    pending = json.loads(cg.run("review", "list", "--status", "pending", "--json").stdout)
    closed = json.loads(cg.run("review", "list", "--status", "cancelled", "--json").stdout)
    assert pending == [] and len(closed) == 2
    refused = cg.run("review", "approve", closed[0]["id"], "--reviewer", "alice")
    assert refused.returncode == 2 and "closed (cancelled)" in refused.stderr
    assert cg.query("SELECT count(*) FROM crewgate_decisions") == [(0,)]


def test_cancel_ends_a_sixty_second_cell_at_once_and_no_model_call_follows(
    cg: Crewgate, tmp_path: Path, repo: Path
) -> None:
    with serve(FakeOpenAI(replies=[reply.replace("SLEEP", "60") for reply in REPLIES])) as fake:
        runbook = http_runbook(tmp_path / "rb", fake.url)
        queued = cg.run("run", str(runbook), "-i", f"repo={repo}", "--detach", "--json", OPENAI_API_KEY="sk-test")
        assert queued.returncode == 0, queued.stderr
        run_id = last_event(queued.stdout)["run"]
        log = tmp_path / "worker.log"
        worker = cg.start_logged(log, "worker", "--json", OPENAI_API_KEY="sk-test")
        cg.wait_for("SELECT 1 FROM crewgate_model_calls WHERE scope = 'implement#1' AND member = 'coder'", timeout=120)
        assert len(fake.requests) == 2  # the planner, and the coder's reply whose cell sleeps 60 s

        cancelled = cg.run("runs", "cancel", run_id)
        returned = time.time()
        assert cancelled.returncode == 0, cancelled.stderr
        stopped = "SELECT 1 FROM crewgate_trace WHERE run_id = ? AND member = 'crewgate' AND data LIKE '%cancelled%'"
        within(5, lambda: cg.query(stopped, run_id), "the run's host stops its step")
        within(5, lambda: not containers_of([run_id]), "the run's container removed")
        assert worker.poll() is None
        assert len(fake.requests) == 2 and max(fake.times) < returned  # nothing was asked after the cancel
        assert cg.show(run_id)["status"] == "cancelled"
        worker.kill()
        worker.communicate(timeout=30)
    later = cg.run("runs", "cancel", run_id)
    assert later.returncode == 2 and "already ended (cancelled)" in later.stderr


def test_a_queued_run_cancelled_before_any_worker_is_never_started(cg: Crewgate, tmp_path: Path) -> None:
    queued = cg.run("run", str(write_runbook(tmp_path / "rb", SLEEPING)), "--detach", "--json")
    run_id = last_event(queued.stdout)["run"]
    assert cg.run("runs", "cancel", run_id).returncode == 0
    idle = cg.run("worker", "--until-idle", "--json")
    assert idle.returncode == 0, idle.stderr
    assert cg.query("SELECT count(*) FROM crewgate_steps") == [(0,)]
    assert not containers_of([run_id])
