"""`crewgate schedule ...` as a user types it: bad crons refused where written, trigger and backfill before any
worker ran, backfill counted and bounded, only past ticks, daylight saving like cron, every tick kind shown."""

import json
import time
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate
from tests.schedule_helpers import applied, runs_of, ticks, write_runbook


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('{cron: "0 0 30 2 *"}', "never fires"),
        ('{cron: "0 0 31 4 *"}', "never fires"),
        ('{cron: "every day"}', "is not a cron expression"),
        ('{cron: "0 3 * * *", timezone: Mars/Olympus}', "is not an IANA time zone"),
        ('{cron: "0 3 * * *", jitter: 90s}', "more than 60s"),
        ('{cron: "0 3 * * *", catch_up_window: soon}', "catch_up_window"),
        ('{cron: "0 3 * * *", while_in_review: wait}', "while_in_review"),
    ],
)
def test_a_bad_schedule_is_refused_where_it_is_written_and_nothing_is_stored(
    cg: Crewgate, tmp_path: Path, entry: str, message: str
) -> None:
    runbook = write_runbook(tmp_path / "rb", f"  - {entry}\n")
    line = runbook.read_text().splitlines().index(f"  - {entry}") + 1
    refused = cg.run("schedule", "apply", str(runbook))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"{runbook}:{line}:" in refused.stderr and message in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert cg.run("runbook", "validate", str(runbook)).returncode == 2
    assert cg.query("SELECT count(*) FROM crewgate_schedules") == [(0,)]
    assert cg.query("SELECT count(*) FROM crewgate_runbook_versions") == [(0,)]


def test_bad_schedule_commands_are_refused_and_change_nothing(cg: Crewgate, tmp_path: Path) -> None:
    applied(cg, write_runbook(tmp_path / "rb", '  - {name: nightly, cron: "0 3 * * *"}\n'))
    for args, message in [
        (("pause", "nosuch"), "no schedule 'nosuch'"),
        (("trigger", "nosuch"), "no schedule 'nosuch'"),
        (("delete", "nosuch"), "no schedule 'nosuch'"),
        (("show", "nosuch"), "no schedule 'nosuch'"),
        (("backfill", "nightly", "--from", "yesterday", "--to", "2026-01-01T00:00:00Z"), "is not an ISO time"),
        (("backfill", "nightly", "--from", "2026-01-02T00:00:00Z", "--to", "2026-01-01T00:00:00Z"), "is not after"),
        (
            ("backfill", "nightly", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-02T00:00:00Z", "--max", "0"),
            "--max",
        ),
    ]:
        refused = cg.run("schedule", *args)
        assert refused.returncode == 2 and message in refused.stderr, (args, refused.stderr)
    assert cg.query("SELECT count(*) FROM crewgate_schedule_ticks") == [(0,)]


@pytest.mark.docker
def test_trigger_and_backfill_work_before_any_worker_ran_and_each_trigger_is_its_own_tick(
    cg: Crewgate, tmp_path: Path
) -> None:
    runbook = write_runbook(tmp_path / "rb", '  - {name: hourly, cron: "0 * * * *", overlap: allow}\n')
    applied(cg, runbook)  # no worker has ever run on this home
    first = cg.run("schedule", "trigger", "hourly", "--json")
    second = cg.run("schedule", "trigger", "hourly", "--json")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    ids = {json.loads(first.stdout)["tick"], json.loads(second.stdout)["tick"]}
    assert len(ids) == 2  # the same second, two ticks
    now = time.time()
    start = time.strftime("%Y-%m-%dT%H:00:00+00:00", time.gmtime(now - 3 * 3600))
    end = time.strftime("%Y-%m-%dT%H:00:00+00:00", time.gmtime(now - 3600))
    backfilled = cg.run("schedule", "backfill", "hourly", "--from", start, "--to", end)
    assert backfilled.returncode == 0, backfilled.stderr
    assert "2 tick(s) of hourly" in backfilled.stdout and "2 tick(s) queued" in backfilled.stdout
    kinds = sorted((kind, outcome) for _, kind, outcome, _, _ in ticks(cg, "hourly"))
    assert kinds == [("backfill", "queued")] * 2 + [("trigger", "queued")] * 2
    idle = cg.run("worker", "--until-idle", "--json", "--concurrency", "4")
    assert idle.returncode == 0, idle.stdout[-3000:] + idle.stderr[-3000:]
    assert len(runs_of(cg, "hourly")) == 4  # each trigger and each backfilled tick started its own run
    assert {outcome for _, _, outcome, _, _ in ticks(cg, "hourly")} == {"started"}
    events = [json.loads(line) for line in idle.stdout.splitlines() if line.startswith("{")]
    assert sum(event["event"] == "tick" and event["outcome"] == "started" for event in events) == 4
    assert sum(event["event"] == "run" and event["status"] == "completed" for event in events) == 4


def test_backfill_counts_first_and_refuses_ten_years_of_seconds_at_once(cg: Crewgate, tmp_path: Path) -> None:
    applied(cg, write_runbook(tmp_path / "rb", '  - {name: busy, cron: "* * * * * *", overlap: allow}\n'))
    began = time.monotonic()
    refused = cg.run("schedule", "backfill", "busy", "--from", "2016-01-01T00:00:00Z", "--to", "2026-01-01T00:00:00Z")
    assert time.monotonic() - began < 10
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "315,619,200 ticks of busy" in refused.stderr and "--max 1000" in refused.stderr, refused.stderr
    listed = cg.run(
        "schedule", "backfill", "busy", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-01T00:00:05Z", "--dry-run"
    )
    assert listed.returncode == 0, listed.stderr
    assert "5 tick(s) of busy" in listed.stdout and "nothing was queued" in listed.stdout
    assert listed.stdout.count("would run") == 5
    too_many = cg.run(
        "schedule", "backfill", "busy", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-01T00:00:06Z", "--max", "5"
    )
    assert too_many.returncode == 2 and "6 ticks of busy" in too_many.stderr
    assert cg.query("SELECT count(*) FROM crewgate_schedule_ticks") == [(0,)]


def test_backfill_fires_only_past_ticks(cg: Crewgate, tmp_path: Path) -> None:
    applied(cg, write_runbook(tmp_path / "rb", '  - {name: hourly, cron: "0 * * * *"}\n'))
    now = time.time()
    start = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 2 * 3600))
    future = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now + 3 * 86400))
    done = cg.run("schedule", "backfill", "hourly", "--from", start, "--to", future, "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["clipped"] and shown["count"] == 2 and shown["queued"] == 2
    queued = [tick for tick, _, _, _, _ in ticks(cg, "hourly")]
    assert len(queued) == 2 and all(time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) <= now for t in queued)


def test_a_daily_job_fires_once_when_clocks_go_back_and_at_the_jump_when_they_go_forward(
    cg: Crewgate, tmp_path: Path
) -> None:
    entry = '  - {name: night, cron: "30 2 * * *", timezone: Europe/Berlin}\n'
    applied(cg, write_runbook(tmp_path / "rb", entry))

    def ticks_between(start: str, end: str) -> list[str]:
        done = cg.run("schedule", "backfill", "night", "--from", start, "--to", end, "--dry-run", "--json")
        assert done.returncode == 0, done.stderr
        return [tick["at"] for tick in json.loads(done.stdout)["ticks"]]

    autumn = ticks_between("2026-10-24T00:00:00+00:00", "2026-10-27T00:00:00+00:00")
    assert autumn == ["2026-10-24T00:30:00+00:00", "2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00"]
    spring = ticks_between("2026-03-28T00:00:00+00:00", "2026-03-31T00:00:00+00:00")
    assert spring == ["2026-03-28T01:30:00+00:00", "2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00"]


def test_schedule_show_gives_both_zones_the_next_five_fires_and_every_tick_kind(cg: Crewgate, tmp_path: Path) -> None:
    entry = '  - {name: night, cron: "30 2 * * *", timezone: Europe/Berlin, jitter: 0s}\n'
    applied(cg, write_runbook(tmp_path / "rb", entry))
    assert cg.run("schedule", "trigger", "night").returncode == 0
    backfilled = cg.run(
        "schedule", "backfill", "night", "--from", "2026-11-01T00:00:00Z", "--to", "2026-11-02T00:00:00Z"
    )
    assert backfilled.returncode == 0, backfilled.stderr
    shown = cg.run("schedule", "show", "night")
    assert shown.returncode == 0, shown.stderr
    assert "2026-11-01T02:30:00+01:00  (2026-11-01T01:30:00+00:00)  backfill queued" in shown.stdout, shown.stdout
    assert " trigger  queued" in shown.stdout and "jitter 0s" in shown.stdout
    fires = shown.stdout.split("next fires:")[1].splitlines()[1:6]
    assert all("T02:30:00+01:00  (" in line and "T01:30:00+00:00)" in line for line in fires), shown.stdout
    data = json.loads(cg.run("schedule", "show", "night", "--json").stdout)
    assert len(data["next_fires"]) == 5 and data["ticks"] == {"queued": 2}
    assert {tick["kind"] for tick in data["recent"]} == {"trigger", "backfill"}
    listed = json.loads(cg.run("schedule", "list", "--json").stdout)
    assert listed[0]["next_fire"] == data["next_fires"][0][0]


def test_a_derived_schedule_name_too_long_to_record_is_refused(cg: Crewgate, tmp_path: Path) -> None:
    name = "n" * 63
    runbook = write_runbook(tmp_path / "rb", '  - {cron: "0 3 * * *"}\n  - {cron: "0 4 * * *"}\n', name=name)
    refused = cg.run("schedule", "apply", str(runbook))
    assert refused.returncode == 2 and f"schedule name '{name}-2'" in refused.stderr, refused.stderr
    assert "shorter `name:`" in refused.stderr


def test_a_deleted_schedule_skips_its_queued_ticks_and_a_new_one_of_that_name_never_inherits_them(
    cg: Crewgate, tmp_path: Path
) -> None:
    runbook = write_runbook(tmp_path / "rb", '  - {name: nightly, cron: "0 3 * * *"}\n')
    applied(cg, runbook)
    assert cg.run("schedule", "trigger", "nightly").returncode == 0
    assert cg.run("schedule", "delete", "nightly").returncode == 0
    assert [(kind, outcome) for _, kind, outcome, _, _ in ticks(cg, "nightly")] == [("trigger", "skipped")]
    applied(cg, runbook)
    assert cg.query("SELECT revision FROM crewgate_schedules WHERE name = 'nightly'") == [(2,)]


def test_a_zero_catch_up_window_means_zero() -> None:
    from workflows.store.schedules import ScheduleSpec, timing_of

    window = timing_of(ScheduleSpec(cron="0 3 * * *", catch_up="all", catch_up_window="0s")).catch_up_window
    assert window.total_seconds() == 0
