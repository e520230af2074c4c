"""Schedules fired by real `crewgate worker` processes, on DBOS's cron timers (every 2 s here).

Overlap `skip` records the ticks that come while the schedule's run is still
running and never runs two at once; two workers start each tick's run once; a
worker back after downtime records the missed ticks (`catch_up: none`) or runs
each of them once (`catch_up: all`).
"""

import json
import math
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, kill, wait_for_event

RUNBOOK = """\
name: ticking
version: 1.0.0
inputs:
  seconds: {type: integer, default: 0}
model: scripted/replies.yaml
crew:
  members:
    coder: {goal: Code}
steps:
  - {id: work, check: "sleep {{ inputs.seconds }}"}
schedule:
"""


ALL_TICKS = "SELECT schedule, tick_at, outcome, detail FROM crewgate_schedule_ticks ORDER BY tick_at"


def write_runbook(folder: Path, entries: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "replies.yaml").write_text("coder:\n  - Nothing to do.\n")
    (folder / "runbook.yaml").write_text(RUNBOOK + entries)
    return folder / "runbook.yaml"


def ticks(cg: Crewgate, schedule: str) -> list[tuple[str, str, str | None]]:
    return cg.query(
        "SELECT tick_at, outcome, run_id FROM crewgate_schedule_ticks WHERE schedule = ? ORDER BY tick_at", schedule
    )


def even_seconds_between(start: float, end: float) -> set[str]:
    """The tick times of a `*/2 * * * * *` schedule strictly between two moments, spelled like tick rows."""
    first = math.floor(start) + 1
    moments = [second for second in range(first, math.ceil(end)) if second % 2 == 0 and start < second < end]
    return {datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds") for second in moments}


def runs_of(cg: Crewgate, schedule: str) -> list[tuple[str, str]]:
    return cg.query("SELECT id, status FROM crewgate_runs WHERE schedule = ? ORDER BY created_at", schedule)


def wait_until(cg: Crewgate, predicate: object, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    recorded = cg.query("SELECT schedule, tick_at, outcome, run_id, detail FROM crewgate_schedule_ticks")
    runs = cg.query("SELECT id, status FROM crewgate_runs")
    raise AssertionError(f"timed out; ticks: {recorded}; runs: {runs}")


def pause_and_stop(cg: Crewgate, schedules: tuple[str, ...], *workers: subprocess.Popen[str]) -> None:
    """Pause the schedules (so no tick is half-handled), then SIGKILL the workers."""
    for name in schedules:
        assert cg.run("schedule", "pause", name).returncode == 0
    time.sleep(1)
    for worker in workers:
        kill(worker)


@pytest.mark.docker
@pytest.mark.slow
def test_two_workers_start_each_tick_once_and_overlap_skip_never_runs_two_at_once(cg: Crewgate, tmp_path: Path) -> None:
    runbook = write_runbook(
        tmp_path / "rb",
        '  - {name: slow, cron: "*/2 * * * * *", overlap: skip, inputs: {seconds: 5}}\n'
        '  - {name: quick, cron: "*/2 * * * * *", overlap: allow}\n',
    )
    applied = cg.run("schedule", "apply", str(runbook), "--json")
    assert applied.returncode == 0, applied.stderr
    assert [item["name"] for item in json.loads(applied.stdout)["applied"]] == ["slow", "quick"]
    workers = [cg.start_logged(tmp_path / f"worker{n}.log", "worker", "--json", "--concurrency", "4") for n in range(2)]
    wait_until(
        cg,
        lambda: sum(outcome == "skipped" for _, outcome, _ in ticks(cg, "slow")) >= 3 and len(runs_of(cg, "slow")) >= 2,
    )
    wait_until(cg, lambda: len(runs_of(cg, "quick")) >= 4)
    pause_and_stop(cg, ("slow", "quick"), *workers)

    quick = ticks(cg, "quick")
    started = [run for _, outcome, run in quick if outcome == "started"]
    assert len(started) == len(set(started)) == len(runs_of(cg, "quick"))  # each tick one run, each run one tick
    workflows = cg.query(
        "SELECT count(*), count(DISTINCT workflow_uuid) FROM workflow_status WHERE workflow_uuid LIKE 'sched-quick-%'"
    )
    assert workflows[0][0] == workflows[0][1] >= len(started)

    slow = ticks(cg, "slow")
    assert {outcome for _, outcome, _ in slow} >= {"started", "skipped"}
    spans = cg.query(
        "SELECT started_at, coalesce(finished_at, '9999') FROM crewgate_steps s JOIN crewgate_runs r ON r.id = s.run_id"
        " WHERE r.schedule = 'slow' ORDER BY started_at"
    )
    for (_, ended), (began, _) in zip(spans, spans[1:], strict=False):
        assert ended <= began, spans  # one run of the schedule at a time
    shown = json.loads(cg.run("schedule", "list", "--json").stdout)
    slow_view = next(item for item in shown if item["name"] == "slow")
    assert slow_view["paused"] and slow_view["ticks"]["skipped"] >= 3 and slow_view["last_run"]
    cg.run("sandbox", "prune")  # the killed workers' containers


@pytest.mark.docker
@pytest.mark.slow
def test_after_downtime_catch_up_none_records_missed_ticks_and_all_runs_each_once(cg: Crewgate, tmp_path: Path) -> None:
    runbook = write_runbook(
        tmp_path / "rb",
        '  - {name: lazy, cron: "*/2 * * * * *", overlap: allow, catch_up: none}\n'
        '  - {name: eager, cron: "*/2 * * * * *", overlap: allow, catch_up: all}\n',
    )
    assert cg.run("schedule", "apply", str(runbook)).returncode == 0
    worker = cg.start_logged(tmp_path / "before.log", "worker", "--json", "--concurrency", "4")
    wait_until(cg, lambda: len(runs_of(cg, "lazy")) >= 1 and len(runs_of(cg, "eager")) >= 1)
    kill(worker)  # downtime: no worker at all
    down_from = time.time()
    time.sleep(7)  # about three ticks with no worker
    down_to = time.time()
    worker = cg.start_logged(tmp_path / "after.log", "worker", "--json", "--concurrency", "4")
    missed = wait_for_event(tmp_path / "after.log", "started")["missed_ticks"]
    assert missed >= 3, (missed, ticks(cg, "lazy"), (tmp_path / "after.log").read_text()[-3000:])
    window = even_seconds_between(down_from + 1, down_to - 1)  # the ticks nobody could fire: 2 or 3 of them

    def settled(schedule: str) -> dict[str, tuple[str, str | None]]:
        """The window's ticks of `schedule` that are recorded and no longer `starting`."""
        rows = {tick: (outcome, run) for tick, outcome, run in ticks(cg, schedule) if tick in window}
        return {tick: row for tick, row in rows.items() if row[0] != "starting"}

    # Under load a worker's queue may start backfilled ticks after newer ones: wait for exactly these.
    wait_until(cg, lambda: len(settled("eager")) == len(window))
    pause_and_stop(cg, ("lazy", "eager"), worker)

    shown = (  # what a failure under load needs to be understood
        f"window {sorted(window)}; ticks: {cg.query(ALL_TICKS)}\n"
        f"after.log: {(tmp_path / 'after.log').read_text()[-3000:]}"
    )
    assert len(window) >= 2
    lazy = settled("lazy")
    assert set(lazy) == window and {outcome for outcome, _ in lazy.values()} == {"missed"}, shown
    assert all(run is None for _, run in lazy.values())
    eager = settled("eager")
    assert {outcome for outcome, _ in eager.values()} == {"started"}, shown
    ran = [run for _, run in eager.values()]
    assert len(ran) == len(set(ran))  # each missed tick ran once
    cg.run("sandbox", "prune")  # the killed workers' containers


def test_bad_schedules_are_refused_with_file_and_line_and_nothing_is_stored(cg: Crewgate, tmp_path: Path) -> None:
    cases = {
        "bad cron": ('  - {cron: "every day"}\n', "is not a cron expression"),
        "bad zone": ('  - {cron: "0 3 * * *", timezone: Mars/Olympus}\n', "is not an IANA time zone"),
        "bad overlap": ('  - {cron: "0 3 * * *", overlap: queue}\n', "overlap"),
        "bad catch_up": ('  - {cron: "0 3 * * *", catch_up: some}\n', "catch_up"),
        "unknown input": ('  - {cron: "0 3 * * *", inputs: {colour: red}}\n', "undeclared input 'colour'"),
        "twice": ('  - {cron: "0 3 * * *"}\n  - {name: ticking, cron: "0 4 * * *"}\n', "is used twice"),
        "no batch file": ('  - {cron: "0 3 * * *", batch: {inputs: rows.jsonl}}\n', "rows.jsonl not found"),
    }
    for name, (entries, message) in cases.items():
        runbook = write_runbook(tmp_path / name.replace(" ", "-"), entries)
        refused = cg.run("schedule", "apply", str(runbook))
        assert refused.returncode == 2, (name, refused.stdout, refused.stderr)
        assert f"{runbook}:" in refused.stderr and message in refused.stderr, (name, refused.stderr)
    assert cg.query("SELECT count(*) FROM crewgate_schedules") == [(0,)]
    assert cg.query("SELECT count(*) FROM crewgate_runbook_versions") == [(0,)]
    unknown = cg.run("schedule", "pause", "nosuch")
    assert unknown.returncode == 2 and "no schedule 'nosuch'" in unknown.stderr
