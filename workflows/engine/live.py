"""A run's live resources in this process: its sandbox session and its crew.

Nothing here is durable. Each step says which workspace snapshot it starts
from; if this process has no sandbox for the run (it just recovered the run
after a crash, or the gate closed the container), a fresh one is started and
restored from that snapshot. Variables do not survive that; files do.
"""

import json
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from agents import Budget, CodeActMember, LLMGateway
from agents.trace import TraceEvent
from crews import Crew, build_crew, build_members
from executors import DockerSandbox, SandboxLimits

from ..runbook.loader import LoadedRunbook
from .env import env


@dataclass
class LiveRun:
    run_id: str
    sandbox: DockerSandbox
    members: dict[str, CodeActMember]
    crew: Crew
    snapshot: str
    position: dict[str, Any] = field(default_factory=dict)  # step id and attempt the trace belongs to

    def close(self) -> None:
        self.sandbox.close()


_LIVE: dict[str, LiveRun] = {}
_LOCK = threading.Lock()


@cache
def runbook_of(run_id: str) -> LoadedRunbook:
    """The exact registered runbook content the run was pinned to."""
    run = env().records.run(run_id)
    record = env().store.get_runbook(run["runbook"], run["version"])
    loaded = record.load()
    if loaded.sha256 != run["sha256"]:
        raise RuntimeError(f"run {run_id} is pinned to sha256 {run['sha256'][:12]}, the store has {loaded.sha256[:12]}")
    return loaded


def live_run(run_id: str, snapshot: str) -> LiveRun:
    """This process's live resources for the run, at workspace `snapshot`."""
    with _LOCK:
        live = _LIVE.get(run_id)
        if live is not None and live.snapshot == snapshot:
            return live
        if live is None:
            live = _start(run_id, snapshot)
            _LIVE[run_id] = live
        live.sandbox.restore(env().blobs.get(snapshot))
        live.snapshot = snapshot
        return live


def close_run(run_id: str) -> None:
    """Stop the run's container (at a gate, or at the end)."""
    with _LOCK:
        live = _LIVE.pop(run_id, None)
    if live is not None:
        live.close()


def _start(run_id: str, snapshot: str) -> LiveRun:
    loaded = runbook_of(run_id)
    book = loaded.runbook
    spec = book.sandbox
    limits = SandboxLimits(memory=spec.memory, cpus=spec.cpus, pids=spec.pids, timeout_s=spec.timeout_s)
    sandbox = DockerSandbox(image=spec.image, limits=limits, labels={"crewgate.run": run_id}).start()
    gateway = LLMGateway(
        budget=Budget(max_tokens=book.budget.max_tokens, max_usd=book.budget.max_usd), base_dir=loaded.base_dir
    )
    live = LiveRun(run_id, sandbox, {}, None, snapshot)  # type: ignore[arg-type]

    def record(event: TraceEvent) -> None:
        env().records.add_trace(
            run_id,
            live.position.get("step", ""),
            live.position.get("attempt", 0),
            event.member,
            event.turn,
            json.loads(json.dumps(event.to_dict(), default=str)),
        )

    live.members = build_members(book.crew.members, sandbox, gateway, book.model, book.model_params, trace=record)
    live.crew = build_crew(book.crew.engine, live.members, gateway, book.model, book.model_params)
    return live
