"""What a scheduler pass decides, as a pure function of the schedule and two times (the clock is injected).

The pass fires the ticks seen within the grace, records older ones as missed
ranges with their true count (`catch_up: none`), or fires them late within the
catch-up window (`catch_up: all`, at most MAX_CATCH_UP), and leaves ticks whose
jittered fire time has not come for the next pass.
"""

import datetime

from workflows.schedules.cron import CronTimes
from workflows.schedules.plan import MAX_CATCH_UP, Timing, jitter_of, plan_ticks

UTC = datetime.UTC
SECOND = datetime.timedelta(seconds=1)
GRACE = datetime.timedelta(seconds=30)
T0 = datetime.datetime(2026, 12, 2, 8, 0, 0, tzinfo=UTC)


def timing(cron: str, catch_up: str = "none", window: str = "7d", jitter: float | None = 0) -> Timing:
    days = {"7d": 7, "1d": 1}.get(window)
    span = datetime.timedelta(days=days) if days else datetime.timedelta(seconds=int(window.rstrip("s")))
    return Timing(CronTimes(cron), catch_up, span, None if jitter is None else datetime.timedelta(seconds=jitter))


def test_a_worker_that_looks_every_second_fires_each_tick_once_and_misses_none() -> None:
    every_two = timing("*/2 * * * * *")
    decided, fired = T0, []
    for second in range(1, 21):
        plan = plan_ticks("s", every_two, decided, T0 + second * SECOND, GRACE)
        assert not plan.missed
        fired += [due.at for due in plan.due]
        decided = plan.decided_until
    assert fired == [T0 + n * SECOND for n in range(0, 21, 2)]


def test_downtime_with_catch_up_none_records_one_range_with_its_true_count() -> None:
    per_second = timing("* * * * * *")
    down_for = datetime.timedelta(minutes=25)
    plan = plan_ticks("s", per_second, T0, T0 + down_for, GRACE)
    assert len(plan.missed) == 1
    missed = plan.missed[0]
    assert missed.first == T0 and missed.last == T0 + down_for - GRACE - SECOND
    assert missed.count == 1500 - 30  # every tick past the grace, none dropped
    assert [due.at for due in plan.due] == [T0 + down_for - GRACE + n * SECOND for n in range(31)]
    assert missed.count + len(plan.due) == per_second.cron.count(T0, plan.decided_until)


def test_catch_up_all_fires_late_ticks_within_its_window_and_records_older_ones_missed() -> None:
    hourly = timing("0 * * * *", catch_up="all", window="1d")
    plan = plan_ticks("s", hourly, T0, T0 + datetime.timedelta(days=3), GRACE)
    assert [due.at for due in plan.due][0] == T0 + datetime.timedelta(days=2)  # the last day's 25 ticks
    assert len(plan.due) == 25 and plan.missed_count == 48
    assert "catch_up_window" in plan.missed[0].why


def test_a_catch_up_burst_is_capped_and_the_rest_recorded() -> None:
    per_second = timing("* * * * * *", catch_up="all", window="7d")
    plan = plan_ticks("s", per_second, T0, T0 + datetime.timedelta(hours=2), GRACE)
    on_time = 31  # the ticks within the grace are not late: they fire anyway
    assert len(plan.due) == MAX_CATCH_UP + on_time
    assert plan.due[-1].at == T0 + datetime.timedelta(hours=2)  # the newest ones run
    assert plan.missed_count + len(plan.due) == 7201
    assert any("only the newest" in gap.why for gap in plan.missed)


def test_jitter_delays_a_tick_the_same_way_on_every_worker() -> None:
    hourly = timing("0 * * * *", jitter=60)
    delay = jitter_of("nightly", T0, hourly)
    assert datetime.timedelta(0) <= delay < datetime.timedelta(seconds=60)
    assert jitter_of("nightly", T0, hourly) == delay
    early = plan_ticks("nightly", hourly, T0, T0 + delay - datetime.timedelta(microseconds=1), GRACE)
    assert not early.due and early.decided_until == T0  # not yet: a later pass fires it
    on_time = plan_ticks("nightly", hourly, T0, T0 + delay, GRACE)
    assert [due.at for due in on_time.due] == [T0]
    automatic = timing("*/2 * * * * *", jitter=None)  # a tenth of the interval
    assert jitter_of("s", T0, automatic) < datetime.timedelta(seconds=0.2)


def test_a_worker_looking_twice_a_second_misses_nothing_whatever_the_jitter() -> None:
    for cron, jitter in (("*/10 * * * * *", 60), ("*/2 * * * * *", 60), ("*/15 * * * * *", None)):
        timed = timing(cron, jitter=jitter)
        decided, fired = T0, []
        for half_second in range(1, 2 * 1200):
            plan = plan_ticks("s", timed, decided, T0 + half_second * SECOND / 2, GRACE)
            assert not plan.missed, (cron, jitter, half_second)
            fired += [due.at for due in plan.due]
            decided = plan.decided_until
        assert fired == list(timed.cron.between(T0, fired[-1] + SECOND))  # every tick, in order, once
        assert fired[-1] >= T0 + 1140 * SECOND
