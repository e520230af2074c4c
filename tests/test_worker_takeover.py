"""A worker never touches a live process's run, and takes over a run whose process is gone.

Liveness is a heartbeat row per hosting process (workflows/runs/liveness.py). On
this machine a killed process is gone at once (its pid no longer exists); a
process elsewhere is gone once its heartbeat is older than CREWGATE_HOST_TIMEOUT_S.
"""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from tests.durable_helpers import Crewgate, durable_runbook, kill, logged_events, make_repo, wait_for_event
from tests.schedule_helpers import write_runbook
from workflows.clock import stamp, wall_clock
from workflows.runs.liveness import Heartbeat, alive, any_worker_alive, this_machine
from workflows.store.database import Store
from workflows.store.tables import hosts


def coder_started(cg: Crewgate, but_not: str = "") -> str:
    rows = cg.wait_for(
        "SELECT run_id FROM crewgate_model_calls WHERE scope = 'implement#1' AND member = 'coder' AND run_id != ?",
        but_not,
    )
    return str(rows[0][0])


@pytest.mark.docker
@pytest.mark.slow
def test_a_worker_leaves_a_live_run_alone_and_takes_over_a_killed_one(cg: Crewgate, tmp_path: Path) -> None:
    runbook = durable_runbook(tmp_path / "rb", sleep_seconds=4)
    live = cg.start("run", str(runbook), "-i", f"repo={make_repo(tmp_path / 'live')}", "--json")
    live_run = coder_started(cg)  # mid-step: the coder's cell sleeps 4 s in the sandbox
    log = tmp_path / "worker.log"
    worker = cg.start_logged(log, "worker", "--json")
    wait_for_event(log, "started")
    live.communicate(timeout=300)
    assert live.returncode == 10  # it reached its gate in its own process, untouched
    attempts = cg.query("SELECT step_id, max(attempt) FROM crewgate_steps WHERE run_id = ? GROUP BY step_id", live_run)
    assert dict(attempts) == {"plan": 1, "implement": 1, "test": 1, "approve": 1}
    replies = cg.query(
        "SELECT scope, member, count(*) FROM crewgate_model_calls WHERE run_id = ? GROUP BY 1, 2", live_run
    )
    assert sorted(replies) == [("implement#1", "coder", 2), ("plan#1", "planner", 1)]  # each scripted reply once

    killed = cg.start("run", str(runbook), "-i", f"repo={make_repo(tmp_path / 'killed')}", "--json")
    killed_run = coder_started(cg, but_not=live_run)
    kill(killed)
    cg.wait_for("SELECT 1 FROM crewgate_runs WHERE id = ? AND status = 'waiting'", killed_run, timeout=300)
    kill(worker)
    events = logged_events(log)
    taken = {run for event in events if event.get("status") == "took over" for run in event["runs"]}
    assert killed_run in taken, log.read_text()[-4000:]
    steps = cg.query("SELECT step_id, status FROM crewgate_steps WHERE run_id = ? ORDER BY started_at", killed_run)
    assert steps == [("plan", "done"), ("implement", "done"), ("test", "done"), ("approve", "waiting")]
    replies = cg.query(
        "SELECT scope, member, count(*) FROM crewgate_model_calls WHERE run_id = ? GROUP BY 1, 2", killed_run
    )
    assert sorted(replies) == [("implement#1", "coder", 2), ("plan#1", "planner", 1)]  # the recorded reply replayed


def test_liveness_is_a_heartbeat_within_the_timeout_or_a_pid_on_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREWGATE_HOST_TIMEOUT_S", "5")
    store = Store(f"sqlite:///{tmp_path / 'crewgate.db'}")
    database = store.engine
    row = {"pid": 1, "hostname": "elsewhere/1", "started_at": stamp(wall_clock()), "seen_at": time.time()}
    with database.begin() as db:
        db.execute(insert(hosts).values(executor_id="worker-elsewhere", **row))
    assert alive(database, "worker-elsewhere") and any_worker_alive(database)  # another machine: its heartbeat counts
    with database.begin() as db:
        db.execute(update(hosts).where(hosts.c.executor_id == "worker-elsewhere").values(seen_at=time.time() - 6))
    assert not alive(database, "worker-elsewhere") and not any_worker_alive(database)  # silent past the timeout
    assert not alive(database, "run-never-seen")  # no row at all: gone

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with database.begin() as db:
        db.execute(
            insert(hosts).values(
                executor_id="run-ended", **{**row, "pid": int(ended.stdout), "hostname": this_machine()}
            )
        )
    assert not alive(database, "run-ended")  # this machine, pid gone: no need to wait for the timeout

    Heartbeat(database, "run-here")
    assert alive(database, "run-here")
    store.close()


@pytest.mark.docker
@pytest.mark.slow
def test_a_worker_takes_over_no_more_runs_at_once_than_its_concurrency(cg: Crewgate, tmp_path: Path) -> None:
    runbook = write_runbook(tmp_path / "rb", '  - {name: unused, cron: "0 3 * * *"}\n')
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"seconds": 3}\n' * 3)
    queued = cg.run("batch", "start", str(runbook), "--inputs", str(rows), "--concurrency", "3", "--detach", "--json")
    assert queued.returncode == 0, queued.stderr
    first = cg.start_logged(tmp_path / "first.log", "worker", "--json", "--concurrency", "3")
    cg.wait_for("SELECT count(*) FROM crewgate_steps WHERE status = 'running' HAVING count(*) = 3")
    kill(first)  # three runs mid-step, their process gone
    log = tmp_path / "taker.log"
    taker = cg.start_logged(log, "worker", "--json", "--concurrency", "1")
    cg.wait_for("SELECT count(*) FROM crewgate_runs WHERE status = 'completed' HAVING count(*) = 3", timeout=180)
    kill(taker)
    taken = [event["runs"] for event in logged_events(log) if event.get("status") == "took over"]
    assert sum(len(runs) for runs in taken) == 3 and all(len(runs) == 1 for runs in taken), taken
    spans = cg.query("SELECT started_at, finished_at FROM crewgate_steps ORDER BY started_at")
    for (_, ended), (began, _) in zip(spans, spans[1:], strict=False):
        assert ended <= began, spans  # the taker ran them one at a time
