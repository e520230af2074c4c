"""Two workers on one database (PostgreSQL, and SQLite on one machine): a tick every second, each tick exactly
one run, twenty in a row, and a pause that stops new runs at once on both workers."""

import time
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, logged_events
from tests.schedule_helpers import applied, runs_of, started, stop, ticks, utc, wait_past, wait_until, write_runbook

ENTRY = '  - {name: every-second, cron: "* * * * * *", overlap: allow, while_in_review: allow, jitter: 0s}\n'


def consecutive(ticked: list[str], how_many: int) -> list[str]:
    """The first `how_many` consecutive whole seconds among the ticks, or []."""
    seconds = sorted(int(utc(tick).timestamp()) for tick in ticked)
    for start in range(len(seconds) - how_many + 1):
        window = seconds[start : start + how_many]
        if window[-1] - window[0] == how_many - 1:
            return [tick for tick in ticked if int(utc(tick).timestamp()) in set(window)]
    return []


def twenty_ticks_twenty_runs_and_pause(cg: Crewgate, tmp_path: Path) -> None:
    applied(cg, write_runbook(tmp_path / "rb", ENTRY, gate_only=True))
    workers = [cg.start_logged(tmp_path / f"w{n}.log", "worker", "--json", "--concurrency", "4") for n in range(2)]
    wait_until(cg, lambda: consecutive([t for t, _ in started(cg, "every-second")], 20), timeout=180)
    window = consecutive([t for t, _ in started(cg, "every-second")], 20)
    runs = [run for tick, run in started(cg, "every-second") if tick in window]
    assert len(runs) == len(set(runs)) == 20  # twenty ticks, twenty runs, none twice
    recorded = [(tick, outcome) for tick, kind, outcome, _, _ in ticks(cg, "every-second") if tick in window]
    assert len(recorded) == 20 and {outcome for _, outcome in recorded} == {"started"}
    fired_by = [
        {event["tick_at"] for event in logged_events(tmp_path / f"w{n}.log") if event.get("outcome") == "started"}
        for n in range(2)
    ]
    assert not fired_by[0] & fired_by[1]  # no tick was started by both workers

    assert cg.run("schedule", "pause", "every-second").returncode == 0
    paused_at = time.time()
    before = len(runs_of(cg, "every-second"))
    wait_past(paused_at + 3)
    wait_until(cg, lambda: all(w.poll() is None for w in workers))
    late = [tick for tick, _ in started(cg, "every-second") if utc(tick).timestamp() > paused_at]
    assert late == [] and len(runs_of(cg, "every-second")) == before  # within 2 s: nothing at all
    stop(*workers)


@pytest.mark.docker
@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_on_postgres_start_every_tick_exactly_once(pg_cg: Crewgate, tmp_path: Path) -> None:
    twenty_ticks_twenty_runs_and_pause(pg_cg, tmp_path)


@pytest.mark.docker
@pytest.mark.slow
def test_two_workers_on_one_sqlite_home_start_every_tick_exactly_once(cg: Crewgate, tmp_path: Path) -> None:
    twenty_ticks_twenty_runs_and_pause(cg, tmp_path)
