"""When a schedule fires: a cron expression read in a time zone, with the daylight-saving rules of cron.

Cron matches wall-clock time in the schedule's zone (5 fields, or 6 with leading
seconds, as croniter reads them). Two rules turn wall-clock times into instants:

- a wall-clock time that occurs twice (clocks going back) fires once, at its first
  occurrence, so a daily 02:30 job runs once on the night clocks go back;
- one that does not exist (clocks going forward) fires at the next valid time, the
  moment the clocks jump, once however many skipped times matched.

Every instant here is an aware datetime in UTC, a whole second. `count` answers
for any range at once (ten years of a per-second cron included) without
visiting every tick, so a backfill can say how many ticks it means before it
queues any, and a long downtime is recorded with its true count.
"""

import bisect
import datetime
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

UTC = datetime.UTC
SECOND = datetime.timedelta(seconds=1)
DAY_SECONDS = 86400
LONGEST_SHIFT = datetime.timedelta(hours=3)  # longer than any daylight-saving shift
NEVER_HORIZON_YEARS = 5


class CronError(ValueError):
    """The expression or zone cannot be read, or the expression never fires."""


@dataclass(frozen=True)
class Transition:
    """The instant a zone's UTC offset changed, with the offsets before and after."""

    at: datetime.datetime
    before: datetime.timedelta
    after: datetime.timedelta


@dataclass(frozen=True)
class CronTimes:
    """The fire times of `expression` in `zone` (IANA name)."""

    expression: str
    zone: str = "UTC"
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _seconds: bool = field(init=False, repr=False, compare=False)
    _times_of_day: tuple[int, ...] = field(init=False, repr=False, compare=False)  # seconds after midnight that match

    def __post_init__(self) -> None:
        parts = self.expression.split()
        if len(parts) not in (5, 6) or not croniter.is_valid(self.expression, second_at_beginning=len(parts) == 6):
            raise CronError(f"{self.expression!r} is not a cron expression")
        try:
            tz = ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CronError(f"{self.zone!r} is not an IANA time zone") from exc
        object.__setattr__(self, "_tz", tz)
        object.__setattr__(self, "_seconds", len(parts) == 6)
        object.__setattr__(self, "_times_of_day", _matching_times_of_day(self.expression))

    # -- reading the expression ---------------------------------------------------
    def _croniter(self, wall: datetime.datetime, expression: str | None = None) -> croniter:
        return _croniter(expression or self.expression, wall)

    def _daily_expression(self) -> str:
        """The expression's day part alone (day of month, month, day of week), firing at midnight."""
        parts = self.expression.split()
        return " ".join(["0", "0", *parts[-3:]])

    # -- instants from wall-clock times -------------------------------------------
    def wall(self, moment: datetime.datetime) -> datetime.datetime:
        """The zone's wall-clock time at `moment`, naive."""
        return moment.astimezone(self._tz).replace(tzinfo=None)

    def instant(self, wall: datetime.datetime) -> datetime.datetime:
        """When wall-clock time `wall` fires: its first occurrence, or the jump over it if it does not exist."""
        first = wall.replace(tzinfo=self._tz, fold=0).astimezone(UTC)
        if self.wall(first) == wall:
            return first
        return self._jump_over(wall)

    def _jump_over(self, wall: datetime.datetime) -> datetime.datetime:
        """The instant the clocks jumped over the non-existent `wall` (found to the second)."""
        before = wall.replace(tzinfo=self._tz, fold=1).astimezone(UTC)
        return self._change_between(before, wall.replace(tzinfo=self._tz, fold=0).astimezone(UTC))

    def _change_between(self, before: datetime.datetime, after: datetime.datetime) -> datetime.datetime:
        """The first whole second after `before` whose offset is `after`'s (one change between them)."""
        low, high = int(before.timestamp()), int(after.timestamp())
        offset = self._offset(_utc(high))
        while high - low > 1:
            middle = (low + high) // 2
            if self._offset(_utc(middle)) == offset:
                high = middle
            else:
                low = middle
        return _utc(high)

    def _offset(self, moment: datetime.datetime) -> datetime.timedelta:
        return moment.astimezone(self._tz).utcoffset() or datetime.timedelta(0)

    def _repeated_after(self, moment: datetime.datetime) -> datetime.timedelta:
        """How far wall times after `moment`'s fired before it: the hour repeated when the clocks went back."""
        earlier = self._offset(moment - LONGEST_SHIFT)
        return max(datetime.timedelta(0), earlier - self._offset(moment))

    # -- iterating ------------------------------------------------------------------
    def after(self, moment: datetime.datetime, inclusive: bool = False) -> Iterator[datetime.datetime]:
        """Fire times after `moment` (or at it, with `inclusive`), earliest first, without end.

        Raises CronError if the expression never fires again.
        """
        # From the second before: skipped wall times fire at the jump, and the jump may be `moment` itself.
        start = self.wall(moment - SECOND).replace(microsecond=0) - SECOND
        times = self._croniter(start)
        previous = None
        while True:
            tick = self.instant(_next(times, self.expression))
            if tick == previous or tick < moment or (tick == moment and not inclusive):
                continue
            previous = tick
            yield tick

    def before(self, moment: datetime.datetime) -> Iterator[datetime.datetime]:
        """Fire times strictly before `moment`, latest first, without end (CronError when there are none)."""
        start = self.wall(moment).replace(microsecond=0) + SECOND + self._repeated_after(moment)
        times = self._croniter(start)
        previous = None
        while True:
            tick = self.instant(_previous(times, self.expression))
            if tick == previous or tick >= moment:
                continue
            previous = tick
            yield tick

    def next_times(self, moment: datetime.datetime, how_many: int) -> list[datetime.datetime]:
        """The next `how_many` fire times after `moment`."""
        found = []
        for tick in self.after(moment):
            found.append(tick)
            if len(found) == how_many:
                break
        return found

    def between(self, start: datetime.datetime, end: datetime.datetime) -> Iterator[datetime.datetime]:
        """Fire times in [start, end), earliest first."""
        if end <= start:
            return
        try:
            for tick in self.after(start, inclusive=True):
                if tick >= end:
                    return
                yield tick
        except CronError:  # no more fire times at all
            return

    def check_fires(self, now: datetime.datetime, years: int = NEVER_HORIZON_YEARS) -> datetime.datetime:
        """The next fire time; CronError if there is none within `years` (e.g. 30 February)."""
        try:
            tick = next(self.after(now))
        except CronError as exc:
            raise CronError(f"{self.expression!r} never fires") from exc
        if tick - now > datetime.timedelta(days=366 * years):
            raise CronError(f"{self.expression!r} does not fire within {years} years (next {tick:%Y-%m-%d})")
        return tick

    # -- counting -------------------------------------------------------------------
    def count(self, start: datetime.datetime, end: datetime.datetime) -> int:
        """How many fire times lie in [start, end): by days and offsets, never tick by tick."""
        if end <= start:
            return 0
        total = 0
        for low, high, change in self._stretches(start, end):
            offset = self._offset(low)
            first, last = (low + offset).replace(tzinfo=None), (high + offset).replace(tzinfo=None)
            if change is not None and change.before > change.after:  # clocks went back: those fired already
                first = max(first, (change.at + change.before).replace(tzinfo=None))
            elif change is not None and change.at == low:  # clocks jumped at `low`: the skipped times fire now
                skipped_from = (change.at + change.before).replace(tzinfo=None)
                jump_wall = (change.at + change.after).replace(tzinfo=None)
                if self._walls(skipped_from, jump_wall + SECOND):
                    total += 1
                    first = jump_wall + SECOND
            total += self._walls(first, last)
        return total

    def _stretches(
        self, start: datetime.datetime, end: datetime.datetime
    ) -> Iterator[tuple[datetime.datetime, datetime.datetime, Transition | None]]:
        """[start, end) cut where the offset changes; each piece with the change it began with (if any)."""
        changes = list(self._transitions(start - datetime.timedelta(days=2), end))
        begun = next((change for change in reversed(changes) if change.at <= start), None)
        low = start
        for change in changes:
            if change.at <= start:
                continue
            if change.at >= end:
                break
            yield low, change.at, begun
            low, begun = change.at, change
        yield low, end, begun

    def _transitions(self, start: datetime.datetime, end: datetime.datetime) -> Iterator[Transition]:
        step = datetime.timedelta(hours=12)
        moment, offset = start, self._offset(start)
        while moment < end:
            later = min(moment + step, end)
            found = self._offset(later)
            if found != offset:
                yield Transition(self._change_between(moment, later), offset, found)
            moment, offset = later, found

    def _walls(self, first: datetime.datetime, last: datetime.datetime) -> int:
        """Matching wall-clock times in [first, last) (naive), by matching days and times of day."""
        if last <= first:
            return 0
        total = 0
        midnight = datetime.datetime.combine(first.date(), datetime.time())
        days = self._croniter(midnight - SECOND, self._daily_expression())
        final_day = (last - datetime.timedelta(microseconds=1)).date()
        while True:
            try:
                day = _next(days, self.expression).date()
            except CronError:
                return total
            if day > final_day:
                return total
            low = _seconds_into_day(first, ceiling=True) if day == first.date() else 0
            high = _seconds_into_day(last, ceiling=True) if day == last.date() else DAY_SECONDS
            total += bisect.bisect_left(self._times_of_day, high) - bisect.bisect_left(self._times_of_day, low)


@functools.lru_cache(maxsize=16)  # a per-second cron's tuple is about 0.7 MB
def _matching_times_of_day(expression: str) -> tuple[int, ...]:
    """The seconds after midnight `expression` matches, sorted. Remembered per expression: a per-second cron
    matches 86,400 of them, and a worker's scheduler reads every schedule's expression again at each look."""
    expanded = _croniter(expression, datetime.datetime(2000, 1, 1)).expanded  # minute, hour, dom, month, dow[, s]
    minutes = range(60) if expanded[0] == ["*"] else expanded[0]
    hours = range(24) if expanded[1] == ["*"] else expanded[1]
    seconds = (range(60) if expanded[5] == ["*"] else expanded[5]) if len(expanded) == 6 else [0]
    return tuple(sorted(h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds))


def _croniter(expression: str, wall: datetime.datetime) -> croniter:
    """croniter over `expression` from naive wall time `wall`; 6 fields have seconds first."""
    return croniter(expression, wall, ret_type=datetime.datetime, second_at_beginning=len(expression.split()) == 6)


def _next(times: croniter, expression: str) -> datetime.datetime:
    try:
        return times.get_next(datetime.datetime)
    except (CroniterBadDateError, CroniterBadCronError, OverflowError, ValueError) as exc:
        raise CronError(f"{expression!r} has no next fire time: {exc}") from exc


def _previous(times: croniter, expression: str) -> datetime.datetime:
    try:
        return times.get_prev(datetime.datetime)
    except (CroniterBadDateError, CroniterBadCronError, OverflowError, ValueError) as exc:
        raise CronError(f"{expression!r} has no earlier fire time: {exc}") from exc


def _utc(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, UTC)


def _seconds_into_day(wall: datetime.datetime, ceiling: bool) -> int:
    whole = wall.hour * 3600 + wall.minute * 60 + wall.second
    return whole + 1 if ceiling and wall.microsecond else whole
