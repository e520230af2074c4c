"""Schedules fired by real `crewgate worker` processes: ticks decided at fire time, downtime, pause, overlap.

Downtime is made by SIGKILLing the worker and moving the schedules' `decided_until`
back (the database then says the last worker looked minutes ago), so no test waits
for minutes to pass. Runs of `gate_only` runbooks go straight to a review, with no
container, so a tick every second costs little.
"""

import json
import math
import time
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, logged_events, wait_for_event
from tests.schedule_helpers import (
    accounted_for,
    applied,
    decided_until,
    gaps,
    runs_of,
    started,
    stop,
    ticks,
    utc,
    wait_past,
    wait_until,
    write_runbook,
)

EVERY_MINUTE = "* * * * *"


@pytest.mark.docker
@pytest.mark.slow
def test_two_workers_start_each_tick_once_and_overlap_skip_never_runs_two_at_once(cg: Crewgate, tmp_path: Path) -> None:
    runbook = write_runbook(
        tmp_path / "rb",
        '  - {name: slow, cron: "*/2 * * * * *", overlap: skip, inputs: {seconds: 5}}\n'
        '  - {name: quick, cron: "*/2 * * * * *", overlap: allow}\n',
    )
    assert [item["name"] for item in applied(cg, runbook)] == ["slow", "quick"]
    workers = [cg.start_logged(tmp_path / f"worker{n}.log", "worker", "--json", "--concurrency", "4") for n in range(2)]
    wait_until(
        cg,
        lambda: (
            sum(outcome == "skipped" for _, _, outcome, _, _ in ticks(cg, "slow")) >= 3
            and len(runs_of(cg, "slow")) >= 2
        ),
    )
    wait_until(cg, lambda: len(runs_of(cg, "quick")) >= 4)
    stop(*workers)

    quick = started(cg, "quick")
    assert (
        len(quick) == len({run for _, run in quick}) == len(runs_of(cg, "quick"))
    )  # each tick one run, each run one tick
    slow = ticks(cg, "slow")
    assert {outcome for _, _, outcome, _, _ in slow} >= {"started", "skipped"}
    spans = cg.query(
        "SELECT started_at, coalesce(finished_at, '9999') FROM crewgate_steps s JOIN crewgate_runs r ON r.id = s.run_id"
        " WHERE r.schedule = 'slow' ORDER BY started_at"
    )
    for (_, ended), (began, _) in zip(spans, spans[1:], strict=False):
        assert ended <= began, spans  # one run of the schedule at a time
    shown = json.loads(cg.run("schedule", "list", "--json").stdout)
    slow_view = next(item for item in shown if item["name"] == "slow")
    assert slow_view["ticks"]["skipped"] >= 3 and slow_view["last_run"]
    handled = [
        event for n in range(2) for event in logged_events(tmp_path / f"worker{n}.log") if event["event"] == "tick"
    ]
    assert {event["outcome"] for event in handled} >= {"started", "skipped"}  # each worker says what it fired
    cg.run("sandbox", "prune")  # the killed workers' containers


@pytest.mark.docker
@pytest.mark.slow
def test_after_downtime_missed_ticks_are_recorded_once_caught_up_by_the_rules_and_can_be_backfilled(
    cg: Crewgate, tmp_path: Path
) -> None:
    runbook = write_runbook(
        tmp_path / "rb",
        # jitter 0s: a tick fires at its time, so "more than the grace (4 s) before the worker came" is late;
        # with the automatic jitter (up to 6 s here) a tick just before that line could still fire on time
        f'  - {{name: lazy, cron: "{EVERY_MINUTE}", overlap: allow, catch_up: none, jitter: 0s}}\n'
        f'  - {{name: eager, cron: "{EVERY_MINUTE}", overlap: allow, catch_up: all, jitter: 0s}}\n'
        f'  - {{name: single, cron: "{EVERY_MINUTE}", overlap: skip, catch_up: all, jitter: 0s, '
        "inputs: {seconds: 5}}\n"
        f'  - {{name: windowed, cron: "{EVERY_MINUTE}", overlap: allow, catch_up: all, jitter: 0s, '
        "catch_up_window: 150s}\n",
    )
    applied(cg, runbook)
    names = ("lazy", "eager", "single", "windowed")
    since = {name: decided_until(cg, name) - 360 for name in names}
    cg.query("UPDATE crewgate_schedules SET decided_until = decided_until - 360")  # the last worker looked 6 min ago
    back = time.time()
    worker = cg.start_logged(tmp_path / "worker.log", "worker", "--json", "--concurrency", "4")
    wait_until(cg, lambda: all(decided_until(cg, name) > back for name in names), why="the first pass")
    late = {
        name: [t for t, kind, _, _, _ in ticks(cg, name) if kind == "cron" and utc(t).timestamp() < back - 4]
        for name in names
    }

    lazy_missed = gaps(cg, "lazy")
    assert len(lazy_missed) == 1 and lazy_missed[0][2] >= 5, lazy_missed  # one range, with its count
    assert "no worker was running" in lazy_missed[0][3] and not late["lazy"]
    wait_until(cg, lambda: len(started(cg, "eager")) >= len(late["eager"]) >= 5, why="eager catches up")
    assert not gaps(cg, "eager")  # every late tick ran, each once
    assert len(started(cg, "eager")) == len({run for _, run in started(cg, "eager")})
    wait_until(cg, lambda: all(o != "queued" for t, _, o, _, _ in ticks(cg, "single") if t in late["single"]))
    single = [o for t, _, o, _, _ in ticks(cg, "single") if t in late["single"]]
    assert single.count("started") == 1 and single.count("skipped") == len(single) - 1  # one run for the burst
    assert len(late["windowed"]) in (2, 3) and gaps(cg, "windowed")[0][2] >= 3  # older than 150 s: missed

    first, last, count, _ = lazy_missed[0]
    to = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(utc(last).timestamp() + 1))
    backfilled = cg.run("schedule", "backfill", "lazy", "--from", first, "--to", to)
    assert backfilled.returncode == 0, backfilled.stderr
    assert f"{count} tick(s) queued" in backfilled.stdout, backfilled.stdout
    assert not gaps(cg, "lazy")  # the range is run now, not missed any more
    wait_until(
        cg, lambda: len([t for t, k, o, _, _ in ticks(cg, "lazy") if k == "backfill" and o == "started"]) == count
    )
    stop(worker)

    for name in names:  # every tick since the downtime began is recorded exactly once
        expected, recorded = accounted_for(cg, name, EVERY_MINUTE, since[name])
        assert recorded == expected, (name, ticks(cg, name), gaps(cg, name))
    listed = {item["name"]: item["ticks"] for item in json.loads(cg.run("schedule", "list", "--json").stdout)}
    assert listed["windowed"]["missed"] == sum(count for _, _, count, _ in gaps(cg, "windowed"))
    events = logged_events(tmp_path / "worker.log")
    assert any(event["event"] == "tick" and event["outcome"] == "missed" for event in events)
    cg.run("sandbox", "prune")


@pytest.mark.docker
@pytest.mark.slow
def test_pause_resume_reapply_and_delete_take_effect_on_a_running_worker_at_once(cg: Crewgate, tmp_path: Path) -> None:
    every_two = '"*/2 * * * * *"'
    first = write_runbook(
        tmp_path / "rb",
        f"  - {{name: paused, cron: {every_two}, overlap: allow, while_in_review: allow, catch_up: all}}\n"
        f"  - {{name: deleted, cron: {every_two}, overlap: allow, while_in_review: allow}}\n"
        f"  - {{name: control, cron: {every_two}, overlap: allow, while_in_review: allow}}\n",
        gate_only=True,
    )
    applied(cg, first)
    replaced = f"  - {{name: replaced, cron: {every_two}, overlap: allow, while_in_review: allow}}\n"
    other = write_runbook(tmp_path / "rb", replaced, "other", gate_only=True)
    applied(cg, other)
    worker = cg.start_logged(tmp_path / "worker.log", "worker", "--json", "--concurrency", "2")
    names = ("paused", "deleted", "control", "replaced")
    wait_until(cg, lambda: all(len(started(cg, name)) >= 2 for name in names), why="every schedule fires")

    assert cg.run("schedule", "pause", "paused").returncode == 0
    paused_at = time.time()
    assert cg.run("schedule", "delete", "deleted").returncode == 0
    deleted_at = time.time()
    yearly = write_runbook(tmp_path / "rb", '  - {name: replaced, cron: "0 0 1 1 *"}\n', "other", "2.0.0", True)
    applied(cg, yearly)
    replaced_at = time.time()
    wait_past(replaced_at + 5)
    wait_until(cg, lambda: any(utc(t).timestamp() > replaced_at + 4 for t, _ in started(cg, "control")))

    for name, moment in (("paused", paused_at), ("deleted", deleted_at), ("replaced", replaced_at)):
        after = [tick for tick, _ in started(cg, name) if utc(tick).timestamp() > moment]
        assert after == [], (name, ticks(cg, name))

    assert cg.run("schedule", "resume", "paused").returncode == 0
    resumed_at = time.time()
    wait_until(cg, lambda: any(utc(t).timestamp() >= resumed_at for t, _ in started(cg, "paused")))
    stop(worker)
    caught_up = [t for t, _ in started(cg, "paused") if paused_at < utc(t).timestamp() < resumed_at - 1]
    assert caught_up == [], ticks(cg, "paused")  # paused time is never caught up, even with catch_up: all
    cg.run("sandbox", "prune")


@pytest.mark.docker
@pytest.mark.slow
def test_a_broken_schedule_is_shown_as_broken_and_never_stops_a_worker(cg: Crewgate, tmp_path: Path) -> None:
    runbook = write_runbook(
        tmp_path / "rb",
        '  - {name: good, cron: "*/2 * * * * *", overlap: allow, while_in_review: allow}\n'
        '  - {name: feb30, cron: "0 3 * * *"}\n',
        gate_only=True,
    )
    applied(cg, runbook)
    spec = cg.query("SELECT spec FROM crewgate_schedules WHERE name = 'feb30'")[0][0]
    stored = json.dumps({**json.loads(spec), "cron": "0 0 30 2 *"})  # as an older crewgate stored it
    cg.query("UPDATE crewgate_schedules SET spec = ? WHERE name = 'feb30'", stored)
    log = tmp_path / "worker.log"
    worker = cg.start_logged(log, "worker", "--json")
    wait_until(cg, lambda: len(started(cg, "good")) >= 2, why="the other schedule keeps firing")
    assert worker.poll() is None, log.read_text()[-3000:]
    broken = wait_for_event(log, "broken")
    assert broken["schedule"] == "feb30" and "has no next fire time" in broken["detail"], broken
    listed = cg.run("schedule", "list")
    assert listed.returncode == 0 and "BROKEN" in listed.stdout and "feb30 is broken" in listed.stderr
    shown = cg.run("schedule", "show", "feb30")
    assert shown.returncode == 0 and "BROKEN" in shown.stdout and "Traceback" not in shown.stderr
    second = cg.start_logged(tmp_path / "second.log", "worker", "--json")
    wait_for_event(tmp_path / "second.log", "started")
    assert second.poll() is None
    stop(worker, second)


@pytest.mark.docker
@pytest.mark.slow
def test_a_run_waiting_for_review_holds_back_the_next_tick_unless_allowed(cg: Crewgate, tmp_path: Path) -> None:
    runbook = write_runbook(
        tmp_path / "rb",
        '  - {name: careful, cron: "* * * * * *"}\n'
        '  - {name: piling, cron: "* * * * * *", overlap: allow, while_in_review: allow}\n',
        gate_only=True,
    )
    applied(cg, runbook)
    worker = cg.start_logged(tmp_path / "worker.log", "worker", "--json", "--concurrency", "1")

    def pending() -> dict[str, int]:
        return dict(
            cg.query(
                "SELECT r.schedule, count(*) FROM crewgate_reviews v JOIN crewgate_runs r ON r.id = v.run_id"
                " WHERE v.status = 'pending' GROUP BY r.schedule"
            )
        )

    wait_until(cg, lambda: pending().get("piling", 0) >= 4, why="runs waiting free their worker slot")
    # Skips while its run is queued or running come first (a busy machine takes seconds to reach the gate):
    # wait for those that say the run waits for review.
    wait_until(
        cg,
        lambda: sum("waits for review" in detail for _, _, o, _, detail in ticks(cg, "careful") if o == "skipped") >= 2,
        why="ticks skipped because the run waits for review",
    )
    stop(worker)
    assert pending()["careful"] == 1 and len(runs_of(cg, "careful")) == 1
    skipped = [detail for _, _, outcome, _, detail in ticks(cg, "careful") if outcome == "skipped"]
    assert all(f"run {runs_of(cg, 'careful')[0][0]} of this schedule" in detail for detail in skipped), skipped
    assert "waits for review (overlap: skip, while_in_review: skip)" in skipped[-1], skipped
    events = logged_events(tmp_path / "worker.log")
    assert any(event["event"] == "run" and event["status"] == "waiting" for event in events)


@pytest.mark.docker
@pytest.mark.slow
def test_a_long_downtime_of_a_per_second_schedule_is_recorded_whole_and_counted_truly(
    cg: Crewgate, tmp_path: Path
) -> None:
    applied(cg, write_runbook(tmp_path / "rb", '  - {name: busy, cron: "* * * * * *", jitter: 0s}\n', gate_only=True))
    since = decided_until(cg, "busy") - 25 * 60
    cg.query("UPDATE crewgate_schedules SET decided_until = ?", since)  # no worker for 25 minutes
    log = tmp_path / "worker.log"
    worker = cg.start_logged(log, "worker")  # the text a person reads
    wait_until(cg, lambda: gaps(cg, "busy") and started(cg, "busy"), why="the first pass after the downtime")
    stop(worker)
    (first, last, count, why), *more = gaps(cg, "busy")
    assert more == [] and utc(first).timestamp() == math.ceil(since) and "catch_up: none" in why
    assert count == utc(last).timestamp() - utc(first).timestamp() + 1 >= 25 * 60 - 10  # every second, none dropped
    expected, recorded = accounted_for(cg, "busy", "* * * * * *", since)
    assert recorded == expected
    totals = json.loads(cg.run("schedule", "list", "--json").stdout)[0]["ticks"]
    assert totals["missed"] == count and sum(totals.values()) == recorded  # true totals, not the newest rows
    assert f"tick busy missed {count} tick(s) from {first} to {last}" in log.read_text(), log.read_text()[-2000:]
    shown = cg.run("schedule", "show", "busy").stdout
    assert f"missed   {count} tick(s) from {first} to {last}" in shown, shown
