"""A run's live resources in this process: its sandbox session, its gateway and its crew.

Nothing here is durable. Each step says which workspace snapshot it starts
from; if this process has no sandbox for the run (it just recovered the run
after a crash, or the gate closed the container), a fresh one is started and
restored from that snapshot. Variables do not survive that; files do, and a
re-run step replays its recorded model replies, so their code runs again.

Cancellation reaches a live run from any process through the database: a
watch thread looks at the live runs' statuses every CANCEL_POLL_S and aborts
a cancelled run's sandbox (its running cell ends at once, its container is
removed, nothing replaces it), and the gateway asks the database before every
model call, so nothing is spent once `runs cancel` has returned.
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from agents import Budget, CodeActMember, LLMGateway
from agents.span_shapes import run_attributes
from agents.tools import MemberTools
from agents.trace import TraceEvent
from crews import Crew, build_crew, build_members
from executors import SandboxLimits
from executors.protocol import Sandbox

from ..errors import RunCancelled
from ..plain import JsonObject
from ..runbook.loader import LoadedRunbook
from .environments import session_image
from .replies import RecordedReplies, scope_of
from .services import RunServices
from .tool_calls import RecordedToolCalls
from .tools import RunTools

CANCEL_POLL_S = 0.5
CANCELLED = "the run was cancelled"
log = logging.getLogger("crewgate.runs")


@dataclass
class LiveRun:
    """A run's sandbox, gateway and members here; its crew is built on first use.

    Building a crew imports its framework (seconds for crewAI), so a process that
    only runs checks, a gate or a promotion never pays for it.
    """

    run_id: str
    sandbox: Sandbox
    gateway: LLMGateway
    members: dict[str, CodeActMember]
    make_crew: Callable[[], Crew]
    snapshot: str
    position: tuple[str, int] = ("", 0)  # the step id and attempt its members' trace belongs to
    cancelled: bool = False
    tools: RunTools | None = None
    _crew: Crew | None = None

    @property
    def crew(self) -> Crew:
        if self._crew is None:
            self._crew = self.make_crew()
        return self._crew

    def member_tools(self, member: str) -> MemberTools | None:
        """The member's share of the run's tools (None: the runbook has none)."""
        tools = self.tools
        if tools is None:
            return None
        return MemberTools(
            tools.prompt_for(member), tools.setup_code, lambda turn, span: tools.handler(member, turn, span)
        )

    def cancel(self) -> None:
        """From the watch thread: stop the model calls and kill the running cell."""
        self.cancelled = True
        self.sandbox.abort(CANCELLED)

    def close(self) -> None:
        self.sandbox.close()
        if self.tools is not None:
            self.tools.close()


class LiveRuns:
    """The live runs of one engine (one process): at most one sandbox per run."""

    def __init__(self, services: RunServices) -> None:
        self.services = services
        self._runs: dict[str, LiveRun] = {}
        self._books: dict[str, LoadedRunbook] = {}
        self._run_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._watch: threading.Thread | None = None

    def runbook(self, run_id: str) -> LoadedRunbook:
        with self._lock:
            if run_id not in self._books:
                self._books[run_id] = self.services.runbook_as_run(run_id)
            return self._books[run_id]

    def at(self, run_id: str, snapshot: str) -> LiveRun:
        """The run's live resources, with its workspace at `snapshot`.

        One lock per run: starting or restoring one run's sandbox (a second or so of
        Docker) must not hold up the other runs this process hosts.
        """
        book = self.runbook(run_id)
        with self._lock:
            run_lock = self._run_locks.setdefault(run_id, threading.Lock())
        with run_lock:
            with self._lock:
                live = self._runs.get(run_id)
            if live is not None and live.cancelled:
                raise RunCancelled(f"run {run_id}: {CANCELLED}")
            if live is not None and live.snapshot == snapshot:
                return live
            if live is None:
                self.refuse_if_cancelled(run_id)  # no container for a run cancelled meanwhile
                live = self._start(run_id, book)
                with self._lock:
                    self._runs[run_id] = live
                self._watch_cancellations()
            live.sandbox.restore(self.services.blobs.get(snapshot))
            live.snapshot = snapshot
            return live

    def where(self, run_id: str) -> tuple[str, int]:
        """The step and attempt the run's members are working on here ("", 0 if none)."""
        with self._lock:
            live = self._runs.get(run_id)
        if live is None:
            return "", 0
        return live.position

    def refuse_if_cancelled(self, run_id: str) -> None:
        if self.services.records.status_of(run_id) == "cancelled":
            raise RunCancelled(f"run {run_id}: {CANCELLED}")

    def stop_reason(self, run_id: str) -> str | None:
        """Why the run's members may not call a model any more (asked before every call), or None."""
        with self._lock:
            live = self._runs.get(run_id)
        if (live is not None and live.cancelled) or self.services.records.status_of(run_id) == "cancelled":
            return CANCELLED
        return None

    def _watch_cancellations(self) -> None:
        with self._lock:
            if self._watch is not None:
                return
            self._watch = threading.Thread(target=self._watch_loop, name="crewgate-cancel-watch", daemon=True)
        self._watch.start()

    def _watch_loop(self) -> None:
        while True:
            time.sleep(CANCEL_POLL_S)
            with self._lock:
                live = {run_id: run for run_id, run in self._runs.items() if not run.cancelled}
            try:
                cancelled = self.services.records.cancelled_among(sorted(live))
            except Exception as exc:  # noqa: BLE001 -- a busy database: look again next time
                log.debug("cancellation watch missed a look: %s", exc)
                continue
            for run_id in cancelled:
                try:
                    live[run_id].cancel()
                except Exception as exc:  # noqa: BLE001 -- the engine hiccupped: the others are still stopped
                    log.warning("could not stop cancelled run %s at once: %s", run_id, exc)

    def close(self, run_id: str) -> None:
        """Stop the run's container (at a gate, or at the end)."""
        with self._lock:
            live = self._runs.pop(run_id, None)
            self._run_locks.pop(run_id, None)
        if live is not None:
            live.close()

    def _start(self, run_id: str, loaded: LoadedRunbook) -> LiveRun:
        book, services = loaded.runbook, self.services
        spec = book.sandbox
        limits = SandboxLimits(memory=spec.memory, cpus=spec.cpus, pids=spec.pids, timeout_s=spec.timeout_s)
        runtime = services.records.run(run_id).runtime  # pinned when the run was recorded: never another
        sandbox = services.sandboxes.start(run_id, session_image(services, run_id, loaded), limits, runtime)
        replies = RecordedReplies(services.store.engine, run_id, services.clock)
        budget = Budget(max_tokens=book.budget.max_tokens, max_usd=book.budget.max_usd, ledger=replies.spent)
        gateway = LLMGateway(
            budget=budget,
            base_dir=loaded.base_dir,
            model=services.model,
            replies=replies,
            telemetry=services.telemetry,
            stopped=lambda: self.stop_reason(run_id),
            span_attributes=run_attributes(run_id, f"{book.name}@{book.version}"),
        )

        def make_crew() -> Crew:
            return build_crew(book.crew.engine, live.members, gateway, book.model, book.model_params, record)

        live = LiveRun(run_id, sandbox, gateway, {}, make_crew, "")

        def record(event: TraceEvent) -> None:
            services.records.add_trace(
                run_id,
                *live.position,
                event.member,
                event.turn,
                json.loads(json.dumps(event.to_dict(), default=str)),
            )

        def record_tool(member: str, turn: int, data: JsonObject) -> None:
            services.records.add_trace(run_id, *live.position, member, turn, data)

        if book.tools.python or book.tools.mcp:
            calls = RecordedToolCalls(services.store.engine, run_id, services.clock)
            try:
                live.tools = RunTools.open(
                    run_id, loaded, sandbox, calls, record_tool, lambda: scope_of(*live.position), services.telemetry
                )
            except BaseException:
                sandbox.close()
                raise
        members = book.crew.members
        live.members = build_members(
            members, sandbox, gateway, book.model, book.model_params, trace=record, tools=live.member_tools
        )
        return live
