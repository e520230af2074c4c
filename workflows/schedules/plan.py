"""What a scheduler pass does with the ticks since the last one: a pure function of the schedule and two times.

A schedule's ticks before its `decided_until` have all been decided (queued to
fire, or recorded as missed); a pass looks at the ticks from there up to now:

- a tick whose fire time (its time plus its jitter) has not come is left for a later pass;
- a tick seen within `grace` of its fire time fires (it is queued for a worker);
- an older one was due while no worker was alive: with `catch_up: none` it is
  missed; with `catch_up: all` it fires late if it is within `catch_up_window`,
  at most MAX_CATCH_UP of them (the newest), and the rest are missed.

Missed ticks are recorded as ranges with their count (ten years of a
per-second cron is one row), never dropped. The pass is the same whether one
worker runs or many: whoever holds the schedule's row lock plans, and the next
sees the advanced `decided_until`.
"""

import datetime
import hashlib
from dataclasses import dataclass

from .cron import CronError, CronTimes

MAX_CATCH_UP = 1000  # late ticks one pass may fire for a schedule; older ones are recorded missed
AUTO_JITTER_CAP = datetime.timedelta(seconds=10)


@dataclass(frozen=True)
class Timing:
    """A schedule's timing settings, from its runbook entry."""

    cron: CronTimes
    catch_up: str  # none | all
    catch_up_window: datetime.timedelta
    jitter: datetime.timedelta | None  # None: automatic, a tenth of the interval up to 10 s

    @property
    def most_jitter(self) -> datetime.timedelta:
        return AUTO_JITTER_CAP if self.jitter is None else self.jitter


@dataclass(frozen=True)
class Due:
    """A tick to queue now; `late` by how much past its fire time."""

    at: datetime.datetime
    late: datetime.timedelta


@dataclass(frozen=True)
class Gap:
    """Ticks recorded as missed: `count` of them from `first` to `last`, and why."""

    first: datetime.datetime
    last: datetime.datetime
    count: int
    why: str


@dataclass(frozen=True)
class Plan:
    due: tuple[Due, ...]
    missed: tuple[Gap, ...]
    decided_until: datetime.datetime  # every tick before this is decided

    @property
    def missed_count(self) -> int:
        return sum(gap.count for gap in self.missed)


def jitter_of(name: str, tick: datetime.datetime, timing: Timing) -> datetime.timedelta:
    """How long after `tick` it fires: the same for every worker, spread over [0, jitter).

    Never as long as the time to the next tick (automatic jitter: a tenth of it), so ticks
    fire in order and a jittered tick never makes the next one look late.
    """
    try:
        interval = next(timing.cron.after(tick)) - tick
    except CronError:
        interval = timing.most_jitter
    most = min(timing.most_jitter, interval / 10) if timing.jitter is None else min(timing.jitter, interval)
    if most <= datetime.timedelta(0):
        return datetime.timedelta(0)
    digest = hashlib.sha256(f"{name}@{tick.isoformat()}".encode()).digest()
    share = int.from_bytes(digest[:8], "big") / 2**64
    return datetime.timedelta(microseconds=int(share * most / datetime.timedelta(microseconds=1)))


def plan_ticks(
    name: str, timing: Timing, decided_until: datetime.datetime, now: datetime.datetime, grace: datetime.timedelta
) -> Plan:
    """Decide the ticks in [decided_until, now]. Raises CronError if the cron cannot be computed."""
    cron = timing.cron
    surely_late = now - grace - timing.most_jitter  # every tick before this is past its grace, whatever its jitter
    due: list[Due] = []
    missed: list[Gap] = []
    late_window_start = now - timing.catch_up_window if timing.catch_up == "all" else surely_late
    if decided_until < surely_late:
        _late_range(cron, decided_until, surely_late, late_window_start, timing.catch_up, due, missed)
    decided = max(decided_until, surely_late)
    for tick in cron.between(decided, now + datetime.timedelta(seconds=1)):
        fires_at = tick + jitter_of(name, tick, timing)
        if fires_at > now:
            return Plan(tuple(due), tuple(missed), tick)
        late = now - fires_at
        if late <= grace or (timing.catch_up == "all" and tick >= late_window_start):
            due.append(Due(tick, late))
        else:
            _add_missed(missed, tick, tick, 1, _why_missed(timing.catch_up))
    return Plan(tuple(due), tuple(missed), max(decided, now + datetime.timedelta(microseconds=1)))


def _late_range(
    cron: CronTimes,
    start: datetime.datetime,
    end: datetime.datetime,
    window_start: datetime.datetime,
    catch_up: str,
    due: list[Due],
    missed: list[Gap],
) -> None:
    """Ticks in [start, end), all past their grace: missed, or (catch_up all, in the window) fired late."""
    fire_from = max(start, window_start) if catch_up == "all" else end
    if fire_from > start:
        _record_range(cron, start, min(fire_from, end), _why_missed(catch_up), missed)
    if fire_from >= end:
        return
    count = cron.count(fire_from, end)
    if count > MAX_CATCH_UP:
        newest = [tick for _, tick in zip(range(MAX_CATCH_UP), cron.before(end), strict=False)][::-1]
        why = f"more than {MAX_CATCH_UP} ticks to catch up at once: only the newest {MAX_CATCH_UP} ran"
        _record_range(cron, fire_from, newest[0], why, missed)
        ticks = newest
    else:
        ticks = list(cron.between(fire_from, end))
    due.extend(Due(tick, end - tick) for tick in ticks)


def _record_range(
    cron: CronTimes, start: datetime.datetime, end: datetime.datetime, why: str, missed: list[Gap]
) -> None:
    count = cron.count(start, end)
    if count:
        first = next(cron.after(start, inclusive=True))
        last = next(cron.before(end))
        _add_missed(missed, first, last, count, why)


def _add_missed(missed: list[Gap], first: datetime.datetime, last: datetime.datetime, count: int, why: str) -> None:
    """Extend the previous range when it has the same reason (ticks come in order), else start one."""
    if missed and missed[-1].why == why:
        previous = missed[-1]
        missed[-1] = Gap(previous.first, last, previous.count + count, why)
    else:
        missed.append(Gap(first, last, count, why))


def _why_missed(catch_up: str) -> str:
    if catch_up == "all":
        return "older than its catch_up_window when a worker came back (catch_up: all)"
    return "no worker was running at its time (catch_up: none)"
