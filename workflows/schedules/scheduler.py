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
from typing import Any

from ..runs.liveness import host_timeout
from ..runs.services import RunServices
from .fire import Fired, fire
from .records import ScheduleRecords, tick_key
from .timer import Looked, look

INTERVAL_S = 0.5
log = logging.getLogger("crewgate.schedules")
Say = Callable[[dict[str, Any]], None]


class Scheduler:
    """Queues and fires this database's schedule ticks from a daemon thread of the worker."""

    def __init__(self, services: RunServices, say: Say, interval_s: float = INTERVAL_S) -> None:
        self.services = services
        self.records = ScheduleRecords(services.store.engine)
        self.say = say
        self.interval_s = interval_s
        self.grace = datetime.timedelta(seconds=host_timeout())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Scheduler":
        self._thread = threading.Thread(target=self._loop, name="crewgate-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def run_once(self) -> None:
        """One pass: the timer over every active schedule, then every queued tick."""
        now = self.services.clock()
        for row in self.records.all():
            if not row.paused and not row.broken:
                self._report_look(look(self.records, row.name, now, self.grace))
        for tick in self.records.queued():
            if self._stop.is_set():
                return
            fired = fire(self.services, tick)
            if fired is not None:
                self._report_fired(fired)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 -- a busy database or engine: the next pass tries again
                log.warning("scheduler pass failed: %s", exc, exc_info=True)
                self.say({"event": "worker", "status": "scheduler error", "detail": f"{type(exc).__name__}: {exc}"})
            self._stop.wait(self.interval_s)

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
        event: dict[str, Any] = {
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
