"""Reading and writing schedules and their ticks.

A schedule row pins a registered runbook version and the entry's settings; DBOS
holds the cron timer (its schedule of the same name). A tick row is written for
every tick a worker saw: started (with its run or batch), skipped (overlap) or
missed (no worker was up, `catch_up: none`). Its primary key, schedule + tick
time, makes a tick start at most one run however many workers see it.
"""

import json
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .errors import NotFound
from .records import now
from .tables import runs, schedule_ticks, schedules

WORKING = ("queued", "running")  # waiting at a gate does not count as running


class Schedules:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def replace(self, runbook: str, version: str, entries: dict[str, dict[str, Any]]) -> list[str]:
        """Make `entries` (name -> spec) the runbook's schedules; return the names of its earlier ones now gone."""
        with self.engine.begin() as db:
            earlier = [row.name for row in db.execute(select(schedules.c.name).where(schedules.c.runbook == runbook))]
            db.execute(delete(schedules).where(schedules.c.runbook == runbook))
            for name, spec in entries.items():
                row = {"runbook": runbook, "version": version, "spec": json.dumps(spec), "paused": 0}
                db.execute(insert(schedules).values(name=name, applied_at=now(), **row))
        return [name for name in earlier if name not in entries]

    def get(self, name: str) -> dict[str, Any]:
        with self.engine.connect() as db:
            row = db.execute(select(schedules).where(schedules.c.name == name)).mappings().first()
        if row is None:
            raise NotFound(f"no schedule {name!r}: see `crewgate schedule list`")
        return {**row, "spec": json.loads(row["spec"])}

    def owner(self, name: str) -> str | None:
        with self.engine.connect() as db:
            return db.execute(select(schedules.c.runbook).where(schedules.c.name == name)).scalar()

    def all(self) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(select(schedules).order_by(schedules.c.name)).mappings().all()
        return [{**row, "spec": json.loads(row["spec"])} for row in rows]

    def set_paused(self, name: str, paused: bool) -> None:
        with self.engine.begin() as db:
            db.execute(update(schedules).where(schedules.c.name == name).values(paused=int(paused)))

    def delete(self, name: str) -> None:
        with self.engine.begin() as db:
            db.execute(delete(schedules).where(schedules.c.name == name))

    # -- ticks ------------------------------------------------------------
    def claim_tick(self, name: str, tick_at: str) -> bool:
        """Record that this tick is being handled; False if some process already did (or does)."""
        try:
            with self.engine.begin() as db:
                values = {"outcome": "starting", "detail": "", "recorded_at": now()}
                db.execute(insert(schedule_ticks).values(schedule=name, tick_at=tick_at, **values))
        except IntegrityError:
            return False
        return True

    def settle_tick(self, name: str, tick_at: str, outcome: str, detail: str = "", **ids: str | None) -> None:
        with self.engine.begin() as db:
            db.execute(
                update(schedule_ticks)
                .where(schedule_ticks.c.schedule == name, schedule_ticks.c.tick_at == tick_at)
                .values(outcome=outcome, detail=detail, **ids)
            )

    def record_missed(self, name: str, ticks: list[str]) -> int:
        """Record ticks nobody fired; ones already recorded are kept as they are."""
        count = 0
        for tick_at in ticks:
            if self.claim_tick(name, tick_at):
                self.settle_tick(name, tick_at, "missed", "no worker was running (catch_up: none)")
                count += 1
        return count

    def last_tick(self, name: str) -> str | None:
        """The newest tick time recorded (tick times are UTC, whole seconds: text order is time order)."""
        query = select(func.max(schedule_ticks.c.tick_at)).where(schedule_ticks.c.schedule == name)
        with self.engine.connect() as db:
            return db.execute(query).scalar()

    def ticks(self, name: str, limit: int = 20) -> list[dict[str, Any]]:
        query = (
            select(schedule_ticks, runs.c.status.label("run_status"))
            .outerjoin(runs, runs.c.id == schedule_ticks.c.run_id)
            .where(schedule_ticks.c.schedule == name)
            .order_by(schedule_ticks.c.tick_at.desc())
            .limit(limit)
        )
        with self.engine.connect() as db:
            return [dict(row) for row in db.execute(query).mappings()]

    def working_runs(self, name: str) -> list[dict[str, Any]]:
        """This schedule's runs that are queued or running, oldest first."""
        query = select(runs.c.id, runs.c.status).where(runs.c.schedule == name, runs.c.status.in_(WORKING))
        with self.engine.connect() as db:
            return [dict(row) for row in db.execute(query.order_by(runs.c.created_at)).mappings()]
