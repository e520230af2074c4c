"""Schedules under test: a runbook with a `schedule:` section, and what the database says about its ticks."""

import datetime
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests import helpers
from tests.durable_helpers import Crewgate, kill
from workflows.schedules.cron import CronTimes

RUNBOOK = """\
name: NAME
version: VERSION
inputs:
  seconds: {type: integer, default: 0}
model: scripted/replies.yaml
crew:
  members:
    coder: {goal: Code}
steps:
  - {id: work, check: "sleep {{ inputs.seconds }}"}
GATE
schedule:
"""
GATE = "  - {id: approve, gate: {required: 1}}"


def write_runbook(
    folder: Path, entries: str, name: str = "ticking", version: str = "1.0.0", gate_only: bool = False
) -> Path:
    """A runbook with `entries` under `schedule:`. Its one step sleeps `seconds` (an input) in the sandbox;
    `gate_only` runs go straight to a review instead (no container: cheap runs for tests of many ticks)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "replies.yaml").write_text("coder:\n  - <final_answer>Nothing to do.</final_answer>\n")
    text = RUNBOOK.replace("NAME", name).replace("VERSION", version)
    if gate_only:
        text = text.replace('  - {id: work, check: "sleep {{ inputs.seconds }}"}\nGATE\n', GATE + "\n")
    else:
        text = text.replace("GATE\n", "")
    path = folder / f"{name}-{version}.yaml"
    path.write_text(text + entries)
    return path


def applied(cg: Crewgate, runbook: Path) -> list[dict[str, Any]]:
    done = cg.run("schedule", "apply", str(runbook), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["applied"]  # type: ignore[no-any-return]


def ticks(cg: Crewgate, schedule: str) -> list[tuple[str, str, str, str | None, str]]:
    """(tick_at, kind, outcome, run_id, detail) of every tick row of `schedule`, oldest first."""
    return cg.query(
        "SELECT tick_at, kind, outcome, run_id, detail FROM crewgate_schedule_ticks"
        " WHERE schedule = ? ORDER BY tick_at",
        schedule,
    )


def gaps(cg: Crewgate, schedule: str) -> list[tuple[str, str, int, str]]:
    """(first_at, last_at, count, detail) of every missed range of `schedule`."""
    return cg.query(
        "SELECT first_at, last_at, count, detail FROM crewgate_schedule_gaps WHERE schedule = ? ORDER BY first_at",
        schedule,
    )


def runs_of(cg: Crewgate, schedule: str) -> list[tuple[str, str]]:
    return cg.query("SELECT id, status FROM crewgate_runs WHERE schedule = ? ORDER BY created_at", schedule)


def started(cg: Crewgate, schedule: str) -> list[tuple[str, str]]:
    """(tick_at, run_id) of the ticks that started a run."""
    return [(tick, run) for tick, _, outcome, run, _ in ticks(cg, schedule) if outcome == "started" and run]


def wait_until(cg: Crewgate, predicate: Callable[[], object], timeout: float = 120, why: str = "") -> None:
    """Poll `predicate` until it holds; on timeout, fail with every tick and run recorded."""

    def story() -> str:
        recorded = cg.query("SELECT schedule, tick_at, kind, outcome, run_id, detail FROM crewgate_schedule_ticks")
        runs = cg.query("SELECT id, status, schedule FROM crewgate_runs")
        return f"{why}; ticks: {recorded}; runs: {runs}"

    helpers.wait_until(predicate, timeout, story, every=0.2)


def wait_past(moment: float, timeout: float = 60) -> None:
    """Wait until the clock passes `moment` (the ticks before it are due): a condition on time, with a deadline."""
    helpers.wait_until(lambda: time.time() > moment, timeout, "the clock did not reach the moment", every=0.05)


def utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def decided_until(cg: Crewgate, schedule: str) -> float:
    return float(cg.query("SELECT decided_until FROM crewgate_schedules WHERE name = ?", schedule)[0][0])


def accounted_for(cg: Crewgate, schedule: str, cron: str, since: float) -> tuple[int, int]:
    """(ticks the cron had in [since, decided_until), those recorded: a row (the timer's or a backfill's) or missed)."""
    until = decided_until(cg, schedule)
    expected = CronTimes(cron).count(
        datetime.datetime.fromtimestamp(since, datetime.UTC), datetime.datetime.fromtimestamp(until, datetime.UTC)
    )
    rows = [
        tick
        for tick, kind, _, _, _ in ticks(cg, schedule)
        if kind in ("cron", "backfill") and since <= utc(tick).timestamp() < until
    ]
    missed = sum(count for first, _, count, _ in gaps(cg, schedule) if since <= utc(first).timestamp() < until)
    return expected, len(rows) + missed


def stop(*workers: subprocess.Popen[str]) -> None:
    for worker in workers:
        kill(worker)
