"""A worker's scheduler thread: look at every schedule, fire every queued tick, report each event.

Every `crewgate worker` runs one. Each pass (every INTERVAL_S) asks the timer to
queue the due ticks of every active schedule and record the missed ones, then
fires the queued ticks oldest first, whoever queued them (the timer, `schedule
trigger` or `schedule backfill`, even before any worker ran). Several workers
run their passes side by side: the row lock and the tick rows make each tick
decided and started once. An error in a pass is reported and the next pass
tries again; it never stops the worker.

A tick is late, and missed (or caught up), when no pass saw it within the grace
after its fire time: CREWGATE_HOST_TIMEOUT_S, the time after which a silent
worker counts as gone, so a worker restarted within it (`Restart=always`) fires
the ticks of its restart late instead of missing them.
"""

import datetime
import logging
import threading
from collections.abc import Callable

from ..plain import Event
from ..runs.liveness import host_timeout
from ..runs.services import RunServices
from ..store.schedules import ScheduleRecords, tick_key
from .fire import Fired, fire, give_up
from .timer import Looked, look

INTERVAL_S = 0.5
FIRE_TRIES = 3  # a tick whose firing raises this often is recorded failed
log = logging.getLogger("crewgate.schedules")
Say = Callable[[Event], None]


class Scheduler:
    """Queues and fires this database's schedule ticks from two daemon threads of the worker.

    The timer and the firing have a thread each: preparing a run (a repository snapshot,
    a batch of them) can take long, and the timer must keep looking meanwhile, or ticks
    of other schedules would look missed. Each schedule and each tick is handled on its
    own: one that fails is reported (and a tick failing FIRE_TRIES times is recorded
    `failed`), never holding up the others.
    """

    def __init__(self, services: RunServices, say: Say, worker: str, interval_s: float = INTERVAL_S) -> None:
        self.services = services
        self.records = ScheduleRecords(services.store.engine, services.clock)
        self.say = say
        self.worker = worker
        self.interval_s = interval_s
        self.grace = datetime.timedelta(seconds=host_timeout())
        self.failures: dict[tuple[str, str], int] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> "Scheduler":
        for name, step in (("crewgate-timer", self.look_once), ("crewgate-firing", self.fire_once)):
            thread = threading.Thread(target=self._loop, args=(step,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def run_once(self) -> None:
        """One pass of each: the timer over every active schedule, then every queued tick."""
        self.look_once()
        self.fire_once()

    def look_once(self) -> None:
        now = self.services.clock()
        for row in self.records.all():
            if row.paused or row.broken or self._stop.is_set():
                continue
            try:
                self._report_look(look(self.records, row.name, now, self.grace))
            except Exception as exc:  # noqa: BLE001 -- this schedule only: the others are looked at
                self._error(f"schedule {row.name}", exc)

    def fire_once(self) -> None:
        for tick in self.records.queued():
            if self._stop.is_set():
                return
            key = (tick.schedule, tick.tick_at)
            try:
                fired = fire(self.services, tick, self.worker)
            except Exception as exc:  # noqa: BLE001 -- this tick only: the ones behind it still fire
                self._error(f"tick {key[0]}@{key[1]}", exc)
                self._count_failure(key, exc)
                continue
            self.failures.pop(key, None)
            if fired is not None:
                self._report_fired(fired)

    def _count_failure(self, key: tuple[str, str], exc: Exception) -> None:
        self.failures[key] = self.failures.get(key, 0) + 1
        if self.failures[key] < FIRE_TRIES:
            return
        detail = f"{type(exc).__name__}: {exc}"
        try:
            give_up(self.records, key[0], key[1], f"could not be fired ({FIRE_TRIES} tries): {detail}")
        except Exception as again:  # noqa: BLE001 -- the database itself fails: the next pass tries again
            log.warning("could not record tick %s@%s as failed: %s", key[0], key[1], again)
            return
        del self.failures[key]
        self.say(
            {
                "event": "tick",
                "schedule": key[0],
                "tick_at": key[1],
                "kind": "",
                "outcome": "failed",
                "detail": detail[:500],
            }
        )

    def _loop(self, step: Callable[[], None]) -> None:
        while not self._stop.is_set():
            try:
                step()
            except Exception as exc:  # noqa: BLE001 -- a busy database or engine: the next pass tries again
                self._error("pass", exc)
            self._stop.wait(self.interval_s)

    def _error(self, what: str, exc: Exception) -> None:
        log.warning("scheduler: %s failed: %s", what, exc, exc_info=True)
        self.say({"event": "worker", "status": "scheduler error", "detail": f"{what}: {type(exc).__name__}: {exc}"})

    def _report_look(self, looked: Looked) -> None:
        if looked.broken:
            self.say({"event": "schedule", "schedule": looked.schedule, "status": "broken", "detail": looked.broken})
        for gap in looked.missed:
            self.say(
                {
                    "event": "tick",
                    "schedule": looked.schedule,
                    "outcome": "missed",
                    "count": gap.count,
                    "first": tick_key(gap.first),
                    "last": tick_key(gap.last),
                    "detail": gap.why,
                }
            )

    def _report_fired(self, fired: Fired) -> None:
        event: Event = {
            "event": "tick",
            "schedule": fired.schedule,
            "tick_at": fired.tick_at,
            "kind": fired.kind,
            "outcome": fired.outcome,
            "detail": fired.detail,
        }
        if fired.run:
            event["run"] = fired.run
        if fired.batch:
            event["batch"] = fired.batch
        self.say(event)
