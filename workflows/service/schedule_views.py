"""What the schedule service returns: frozen values for `schedule list/show`, JSON and pages."""

import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ..plain import Json
from ..store.schedules import BatchSpec

NEXT_FIRES = 5


@dataclass(frozen=True)
class TickView:
    """A recorded tick (or, with `count`, a range of missed ones from `first` to `at`)."""

    at: str  # UTC
    local: str  # the same time in the schedule's zone
    kind: str  # cron, trigger, backfill
    outcome: str  # queued, started, skipped, failed, missed
    detail: str
    run: str | None = None
    run_status: str | None = None
    batch: str | None = None
    count: int = 1
    first: str | None = None


@dataclass(frozen=True)
class ScheduleView:
    name: str
    runbook: str  # NAME@VERSION
    cron: str
    timezone: str
    overlap: str
    while_in_review: str
    catch_up: str
    catch_up_window: str
    jitter: str | None  # None: automatic
    inputs: dict[str, Json]
    batch: BatchSpec | None
    paused: bool
    broken: str | None  # why its times cannot be computed
    revision: int
    next_fire: str | None  # UTC
    next_fires: tuple[tuple[str, str], ...]  # (UTC, local) of the next few
    last_fire: str | None  # the newest tick that started a run or batch
    last_run: str | None
    last_run_status: str | None
    ticks: dict[str, int]  # true totals by outcome
    recent: tuple[TickView, ...] = field(default=())
    cron_words: str = ""  # the cron in words, with its zone: "at 03:00 every day (Europe/Paris)"


@dataclass(frozen=True)
class Triggered:
    schedule: str
    tick_at: str

    @property
    def tick(self) -> str:
        return f"{self.schedule}@{self.tick_at}"


def local_time(utc: str, zone: str) -> str:
    """A UTC ISO time in `zone`, ISO with its offset."""
    moment = datetime.datetime.fromisoformat(utc)
    try:
        return moment.astimezone(ZoneInfo(zone)).isoformat()
    except (KeyError, ValueError):
        return utc
