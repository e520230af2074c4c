"""Cron fire times in a time zone: the daylight-saving rules, counting without visiting every tick, never-firing crons.

The rules are checked against a reference that looks at every minute of a range
by itself: an instant fires when its wall-clock time matches the expression and
it is that wall time's first occurrence, or when the clocks jumped at it over a
wall time that matches.
"""

import datetime
import itertools
import random
from zoneinfo import ZoneInfo

import pytest
from croniter import CroniterBadDateError, croniter

from workflows.schedules.cron import CronError, CronTimes
from workflows.schedules.cron_words import cron_words

UTC = datetime.UTC
MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).astimezone(UTC)


def local(times: list[datetime.datetime], zone: str) -> list[str]:
    return [moment.astimezone(ZoneInfo(zone)).isoformat() for moment in times]


def wall_of(moment: datetime.datetime, tz: ZoneInfo) -> datetime.datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def matching_walls(expression: str, first: datetime.datetime, last: datetime.datetime) -> set[datetime.datetime]:
    """Every wall-clock minute in [first, last] croniter says the expression matches, by its own iteration (as
    `croniter.match` would say of each, which costs 3 ms a minute)."""
    found = set()
    walls = croniter(expression, first - MINUTE)
    try:
        while (wall := walls.get_next(datetime.datetime)) <= last:
            found.add(wall)
    except CroniterBadDateError:  # never fires (day 31 of April)
        pass
    return found


def reference(expression: str, zone: str, start: datetime.datetime, end: datetime.datetime) -> list[datetime.datetime]:
    """Every minute in [start, end) judged on its own (5-field expressions only)."""
    tz = ZoneInfo(zone)
    matches = matching_walls(expression, wall_of(start, tz) - 3 * HOUR, wall_of(end, tz) + 3 * HOUR)
    fired = []
    moment = start.replace(second=0, microsecond=0)
    if moment < start:
        moment += MINUTE
    while moment < end:
        wall = moment.astimezone(tz).replace(tzinfo=None)
        first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC) == moment
        offset, before = moment.astimezone(tz).utcoffset(), (moment - MINUTE).astimezone(tz).utcoffset()
        assert offset is not None and before is not None
        jumped = offset > before
        skipped = [wall - (offset - before) + n * MINUTE for n in range(int((offset - before) / MINUTE) + 1)]
        over_a_match = jumped and any(w in matches for w in skipped)
        if (first and wall in matches) or over_a_match:
            fired.append(moment)
        moment += MINUTE
    return fired


def test_a_daily_job_fires_once_on_the_night_clocks_go_back_and_at_the_jump_when_they_go_forward() -> None:
    daily = CronTimes("30 2 * * *", "Europe/Berlin")
    autumn = list(daily.between(at("2026-10-24T00:00:00+00:00"), at("2026-10-27T00:00:00+00:00")))
    assert local(autumn, "Europe/Berlin") == [
        "2026-10-24T02:30:00+02:00",
        "2026-10-25T02:30:00+02:00",  # once: not again at 02:30+01:00
        "2026-10-26T02:30:00+01:00",
    ]
    spring = list(daily.between(at("2027-03-27T00:00:00+00:00"), at("2027-03-30T00:00:00+00:00")))
    assert local(spring, "Europe/Berlin") == [
        "2027-03-27T02:30:00+01:00",
        "2027-03-28T03:00:00+02:00",  # 02:30 does not exist: the next valid time
        "2027-03-29T02:30:00+02:00",
    ]
    night = CronTimes("*/15 2 * * *", "Europe/Berlin")  # four skipped times fire once, at the jump
    jumped = list(night.between(at("2027-03-28T00:00:00+00:00"), at("2027-03-28T12:00:00+00:00")))
    assert local(jumped, "Europe/Berlin") == ["2027-03-28T03:00:00+02:00"]
    assert daily.count(at("2026-10-24T00:00:00+00:00"), at("2026-10-27T00:00:00+00:00")) == 3
    assert night.count(at("2027-03-28T00:00:00+00:00"), at("2027-03-28T12:00:00+00:00")) == 1


def test_six_fields_read_leading_seconds() -> None:
    every_two = CronTimes("*/2 * * * * *")
    start = at("2026-12-02T10:00:00.500+00:00")
    assert [t.second for t in every_two.next_times(start, 3)] == [2, 4, 6]
    assert every_two.count(start, start + datetime.timedelta(minutes=1)) == 30
    assert next(every_two.before(at("2026-12-02T10:00:01+00:00"))) == at("2026-12-02T10:00:00+00:00")


@pytest.mark.parametrize("expression", ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 6,9,11 *", "*/5 * * 0 0 31 2 *"])
def test_a_cron_that_never_fires_says_so(expression: str) -> None:
    with pytest.raises(CronError, match="never fires|not a cron"):
        CronTimes(expression).check_fires(at("2026-12-02T00:00:00+00:00"))


def test_a_rare_cron_still_fires_and_bad_input_is_refused() -> None:
    leap_day = CronTimes("0 0 29 2 *").check_fires(at("2026-12-02T00:00:00+00:00"))
    assert leap_day == at("2028-02-29T00:00:00+00:00")
    with pytest.raises(CronError, match="not a cron expression"):
        CronTimes("every day")
    with pytest.raises(CronError, match="not an IANA time zone"):
        CronTimes("0 3 * * *", "Mars/Olympus")


def test_counting_ten_years_of_a_per_second_cron_takes_no_time_and_is_exact() -> None:
    start, end = at("2016-01-01T00:00:00+00:00"), at("2026-01-01T00:00:00+00:00")
    assert CronTimes("* * * * * *").count(start, end) == int((end - start).total_seconds())
    # Berlin: each spring's skipped hour fires once, at 03:00 itself; each autumn's repeated hour once.
    assert CronTimes("* * * * * *", "Europe/Berlin").count(start, end) == int((end - start).total_seconds()) - 36000


FIELDS = (
    ["*", "*/7", "0", "30", "0,15,45", "5-10"],
    ["*", "2", "1-3", "*/5", "0", "23"],
    ["*", "1", "31", "15-20", "L", "29"],
    ["*", "3", "10", "3,10", "4"],
    ["*", "0", "1-5", "6"],
)
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC", "Asia/Kolkata", "America/Santiago"]
CHANGES = [  # Berlin spring and autumn, New York spring, Lord Howe's half hour
    "2026-03-29T01:00:00+00:00",
    "2026-10-25T01:00:00+00:00",
    "2026-03-08T07:00:00+00:00",
    "2026-04-05T15:00:00+00:00",
]


@pytest.mark.parametrize("seed", range(40))
def test_fire_times_and_counts_agree_with_a_minute_by_minute_reference(seed: int) -> None:
    chance = random.Random(seed)  # noqa: S311 -- reproducible cases, not secrets
    expression = " ".join(chance.choice(options) for options in FIELDS)
    zone = chance.choice(ZONES)
    middle = at(chance.choice(CHANGES)) + datetime.timedelta(minutes=chance.randint(-3000, 3000))
    start = middle - datetime.timedelta(hours=chance.randint(0, 40), seconds=chance.randint(0, 59))
    end = middle + datetime.timedelta(hours=chance.randint(0, 40), microseconds=chance.randint(0, 999999))
    expected = reference(expression, zone, start, end)
    times = CronTimes(expression, zone)
    assert list(times.between(start, end)) == expected, (expression, zone, start, end)
    assert times.count(start, end) == len(expected), (expression, zone, start, end)
    if expected:
        assert list(itertools.islice(times.before(end), len(expected))) == expected[::-1]


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 3 * * *", "at 03:00 every day"),
        ("*/15 * * * *", "every 15 minutes"),
        ("30 9 * * 1-5", "at 09:30 on weekdays (Monday to Friday)"),
        ("0 */2 * * *", "every 2 hours at minute 0"),
        ("0 0 1 * *", "at 00:00 on day 1 of every month"),
        ("5 4 * * sun", "at 04:05 on Sunday"),
        ("0 9,17 * * mon,fri", "at 09:00 and 17:00 on Monday and Friday"),
        ("15 2 1 jan *", "at 02:15 on day 1 of January"),
        ("*/2 * * * * *", "every 2 seconds"),
        ("5 1-3 * * *", "when minute 5, hour 1-3 ('5 1-3 * * *')"),  # not a common shape: said as its fields
    ],
)
def test_a_cron_is_said_in_words_or_as_its_fields(cron: str, words: str) -> None:
    assert cron_words(cron) == words
