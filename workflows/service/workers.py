"""Which processes host runs (`crewgate workers`): their heartbeats and the runs each holds.

A process is listed while alive, and for RECENT_S after it went silent, so a
worker that just died shows as gone (its runs about to be taken over) instead of
vanishing. Liveness is decided exactly as takeover decides it (runs/liveness.py).
"""

from dataclasses import dataclass

from sqlalchemy import select

from ..clock import database_time
from ..runs.liveness import is_alive
from ..store.tables import hosts
from .database import open_store

RECENT_S = 600.0


@dataclass(frozen=True)
class WorkerView:
    """One hosting process: a `crewgate worker`, a batch, or a `crewgate run` / `review approve` hosting its run."""

    executor_id: str
    kind: str  # worker, batch, run
    machine: str  # host name and pid namespace
    pid: int
    started_at: str
    seen_s_ago: float
    alive: bool
    hosting: tuple[str, ...]  # workflow ids (run ids, schedule ticks) it holds, PENDING in DBOS


def list_workers(database: str | None, everything: bool = False) -> list[WorkerView]:
    """Hosting processes, alive ones first; `everything` includes those long gone."""
    with open_store(database) as store:
        with store.engine.connect() as db:
            clock = database_time(db)
            rows = db.execute(select(hosts)).mappings().all()
        recent = [row for row in rows if everything or clock - row["seen_at"] < RECENT_S]
        held = _pending_by_executor(store.url) if recent else {}
    views = [
        WorkerView(
            executor_id=row["executor_id"],
            kind=row["executor_id"].split("-", 1)[0],
            machine=row["hostname"],
            pid=row["pid"],
            started_at=row["started_at"],
            seen_s_ago=round(max(0.0, clock - row["seen_at"]), 1),
            alive=is_alive(row, clock),
            hosting=tuple(sorted(held.get(row["executor_id"], []))),
        )
        for row in recent
    ]
    return sorted(views, key=lambda view: (not view.alive, view.seen_s_ago, view.executor_id))


def _pending_by_executor(url: str) -> dict[str, list[str]]:
    from ..runs.hosting import WORKFLOW_VERSION, client

    with client(url) as dbos:
        pending = dbos.list_workflows(status="PENDING", app_version=WORKFLOW_VERSION, load_input=False)
    held: dict[str, list[str]] = {}
    for workflow in pending:
        held.setdefault(str(workflow.executor_id), []).append(workflow.workflow_id)
    return held
