"""A run's tools in this process: its MCP servers, its tool modules, and every call's way through.

`RunTools` is made with the run's sandbox (`LiveRuns`) and closed with it. For each
call a cell makes, `answer` decides in this order, on the host, with nothing the
sandbox says taken on trust but the call itself:

1. the recorded call at this (step try, member, index), if the step is being re-run after a
   crash: replayed, never made again (`tool_calls.py`);
2. the run's budget (`budget.max_tool_calls`, refused calls count too);
3. whether the tool exists, then the member's allow-list (PermissionError, recorded as refused);
4. the call itself: recorded as started, made with a timeout, its result capped in size,
   scrubbed of the servers' secrets, recorded, and only then returned to the cell.

Each call is also a trace turn and, with telemetry, an `execute_tool <tool>` span.
"""

import contextlib
import fnmatch
import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.errors import AgentError
from agents.secret_names import is_secret_name
from agents.span_shapes import run_attributes, tool_attributes
from agents.telemetry import SHORTEST_SECRET, parent_hex, span_hex
from agents.tools import (
    McpServers,
    ServerSpec,
    ToolServerError,
    ToolSpec,
    described_specs,
    mcp_tool_spec,
    module_code,
    namespace_code,
    render_tools,
)
from executors.protocol import Sandbox
from executors.tools import ToolAnswer, ToolCall, ToolHandler

from ..errors import BadInput, RunError
from ..plain import Json, JsonObject
from ..runbook.loader import LoadedRunbook
from ..runbook.schema import Runbook
from ..runbook.tool_files import module_name
from ..visible import visible
from .tool_calls import RecordedCall, RecordedToolCalls, canonical

if TYPE_CHECKING:
    from opentelemetry.context import Context

    from agents.telemetry import Telemetry

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
PREVIEW_CHARS = 4000  # of a call's arguments and result, in the trace
TraceWriter = Callable[[str, int, JsonObject], None]  # (member, turn, data) -> a trace row at the run's position


def resolve(value: str, environ: Mapping[str, str], where: str) -> str:
    """`${NAME}` references replaced from crewgate's environment; a missing one stops the start by name."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise ToolServerError(f"{where} names ${{{name}}}, which is not set in crewgate's environment: set it")
        return environ[name]

    return REFERENCE.sub(lookup, value)


def server_specs(loaded: LoadedRunbook, environ: Mapping[str, str]) -> tuple[list[ServerSpec], list[str]]:
    """The runbook's MCP servers with their secrets resolved, and the values of the variables they name.

    Those values are scrubbed wherever a server's words show (results, errors, its start failure). Each
    variable's own value, not the text around it: `Bearer ${TOKEN}` scrubs the token. A short value
    (`info`, `1`) is scrubbed only under a secret-looking name (`DB_PASSWORD`): elsewhere it would blank
    out ordinary words.
    """
    specs, secrets = [], []
    for name, server in loaded.runbook.tools.mcp.items():
        env = {key: resolve(value, environ, f"MCP server {name!r}: env {key}") for key, value in server.env.items()}
        headers = {
            key: resolve(value, environ, f"MCP server {name!r}: header {key}") for key, value in server.headers.items()
        }
        for key, written in [*server.env.items(), *server.headers.items()]:
            for variable in REFERENCE.findall(written):
                value = environ[variable]
                named_secret = is_secret_name(variable) or is_secret_name(key)
                if value and (named_secret or len(value) >= SHORTEST_SECRET):
                    secrets.append(value)
        specs.append(ServerSpec(name, tuple(server.command or ()), env, server.url, headers, loaded.base_dir))
    return specs, secrets


def allowed_patterns(runbook: Runbook, member: str) -> list[str]:
    """The member's allow-list; by default every tool module's functions and no MCP tool."""
    chosen = runbook.crew.members[member].tools
    if chosen is not None:
        return list(chosen)
    return [f"{module_name(path)}.*" for path in runbook.tools.python]


def is_allowed(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def mcp_specs(servers: McpServers, runbook: Runbook) -> list[ToolSpec]:
    """Every MCP tool as a stub, after checking that each allow-list entry names a tool a server has."""
    listed = servers.start()
    specs = []
    for server, tools in listed.items():
        for tool in tools:
            try:
                specs.append(mcp_tool_spec(server, tool.name, tool.description, tool.input_schema, tool.structured))
            except ValueError as exc:
                raise ToolServerError(f"MCP server {server!r}: {exc}") from exc
        names = [spec.function for spec in specs if spec.namespace == server]
        if len(set(names)) != len(names):
            raise ToolServerError(
                f"MCP server {server!r}: two of its tools map to one Python name ({', '.join(names)})"
            )
    known = {spec.name for spec in specs}
    for member, spec in runbook.crew.members.items():
        for entry in spec.tools or []:
            namespace, _, function = entry.partition(".")
            if namespace in runbook.tools.mcp and function != "*" and entry not in known:
                offered = ", ".join(sorted(name for name in known if name.startswith(namespace + "."))) or "none"
                raise ToolServerError(
                    f"member {member!r} may call {entry}, but MCP server {namespace!r} has no tool "
                    f"{function!r} (it offers: {offered})"
                )
    return specs


@dataclass
class RunTools:
    """The run's tools here; `open` starts them, `close` stops the servers."""

    run_id: str
    runbook: Runbook
    calls: RecordedToolCalls
    trace: TraceWriter
    scope: Callable[[], str]
    telemetry: "Telemetry | None" = None
    servers: McpServers | None = None
    specs: list[ToolSpec] = field(default_factory=list)
    setup_code: str = ""
    secrets: list[str] = field(default_factory=list)
    replay_only: bool = False  # `runs replay`: answer from the record only, never call a tool
    _counts: dict[tuple[str, str], int] = field(default_factory=dict)
    _used: int | None = None
    _over_budget_noted: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(
        cls,
        run_id: str,
        loaded: LoadedRunbook,
        sandbox: Sandbox,
        calls: RecordedToolCalls,
        trace: TraceWriter,
        scope: Callable[[], str],
        telemetry: "Telemetry | None" = None,
        replay_only: bool = False,
    ) -> "RunTools":
        """Import the tool modules in `sandbox` and start the MCP servers. RunError says which failed, and how.

        `replay_only` (`runs replay`): the servers are started to define their stubs, and every call is
        answered from the run's record, never made.
        """
        tools = cls(run_id, loaded.runbook, calls, trace, scope, telemetry, replay_only=replay_only)
        modules = {module.name: module.source for module in loaded.tool_modules}
        if modules:
            described = sandbox.execute(module_code(modules, describe=True))
            if not described.ok:
                raise RunError(f"a tool module failed to import in the sandbox:\n{described.traceback.strip()}")
            try:
                tools.specs += described_specs(described.stdout, described.truncated)
            except AgentError as exc:
                raise RunError(str(exc)) from exc
        if loaded.runbook.tools.mcp:
            try:
                specs, tools.secrets = server_specs(loaded, os.environ)
                tools.servers = McpServers(specs)
                tools.specs += mcp_specs(tools.servers, loaded.runbook)
            except ToolServerError as exc:
                tools.close()
                raise RunError(scrubbed_text(str(exc), tools.secrets)) from exc
            if telemetry is not None:
                telemetry.with_secrets({f"secret_{n}": value for n, value in enumerate(tools.secrets)})
        if tools.specs:
            tools.setup_code = (module_code(modules) if modules else "") + "\n" + namespace_code(tools.specs)
        if replay_only and tools.setup_code:
            defined = sandbox.execute(tools.setup_code)
            if not defined.ok:
                tools.close()
                raise RunError(f"the run's tools could not be defined for the replay:\n{defined.traceback.strip()}")
        return tools

    def close(self) -> None:
        if self.servers is not None:
            self.servers.close()

    def start_over(self, scope: str) -> None:
        """A step try starting again from its first call (a replay after its sandbox was lost, as the run did)."""
        with self._lock:
            self._counts = {key: count for key, count in self._counts.items() if key[0] != scope}

    def prompt_for(self, member: str) -> str:
        patterns = allowed_patterns(self.runbook, member)
        return render_tools([spec for spec in self.specs if is_allowed(spec.name, patterns)])

    def handler(self, member: str, turn: int, span: "Context | None") -> ToolHandler:
        return lambda call: self.answer(member, turn, call, span)

    # -- one call -------------------------------------------------------------
    def answer(self, member: str, turn: int, call: ToolCall, span: "Context | None") -> ToolAnswer:
        scope = self.scope()
        with self._lock:
            index = self._counts.get((scope, member), 0)
            self._counts[(scope, member)] = index + 1
        arguments = canonical(call.arguments)
        recorded = self.calls.recorded(scope, member, index)
        if recorded is not None:
            answer = self._replayed(recorded, call, arguments)
            self._traced(member, turn, call, arguments, answer, 0.0, replayed=True)
            return answer
        if self.replay_only:
            return ToolAnswer.failed("ToolError", f"{call.name}: the run made no such call here; a replay makes none")
        if not self._take_budget():
            return ToolAnswer.failed(
                "ToolError",
                f"{call.name}: the run's tool-call budget is spent (budget.max_tool_calls = "
                f"{self.runbook.budget.max_tool_calls}); no more tool calls are made in this run",
            )
        if not self.calls.start(scope, member, index, call.name, arguments, call.local):
            return ToolAnswer.failed("ToolError", f"{call.name}: another process recorded this call first")
        started = time.perf_counter()
        with self._span(member, call, arguments, span, index) as traced:
            answer = self._decide(member, call)
            if traced is not None and self.telemetry is not None and not answer.ok:
                self.telemetry.error(traced, answer.message[:500], answer.error_type)
        exported: JsonObject = {"tool": span_hex(traced), "cell": parent_hex(span)} if traced is not None else {}
        duration = time.perf_counter() - started
        outcome = "ok" if answer.ok else "refused" if answer.error_type == "PermissionError" else "error"
        result = json.dumps(answer.value, ensure_ascii=False) if answer.ok else None
        self.calls.finish(scope, member, index, outcome, duration, result, answer.error_type, answer.message)
        self._traced(member, turn, call, arguments, answer, duration, spans=exported)
        return answer

    def _take_budget(self) -> bool:
        with self._lock:
            if self._used is None:
                self._used = self.calls.count()
            if self._used >= self.runbook.budget.max_tool_calls:
                noted, self._over_budget_noted = self._over_budget_noted, True
            else:
                self._used += 1
                return True
        if not noted:
            limit = self.runbook.budget.max_tool_calls
            note = f"tool-call budget spent (budget.max_tool_calls = {limit}): later calls refused, not recorded"
            self.trace("crewgate", 0, {"status": "tool_budget", "note": note})
        return False

    def _replayed(self, recorded: RecordedCall, call: ToolCall, arguments: str) -> ToolAnswer:
        if recorded.tool != call.name or recorded.arguments != arguments:
            return ToolAnswer.failed(
                "ToolError",
                f"{call.name}: this step is re-running after a crash and its code asked for a different call than "
                f"was recorded ({recorded.tool} with other arguments); crewgate does not make it, so no tool is "
                "called twice or out of order",
            )
        if recorded.outcome == "started":
            return ToolAnswer.failed(
                "ToolError",
                f"{call.name} was being called when the run's process stopped; whether it took effect is unknown, "
                "so it is not called again (check the tool's side, then carry on)",
            )
        if recorded.outcome == "ok":
            return ToolAnswer(True, recorded.result)
        return ToolAnswer.failed(recorded.error_type or "ToolError", recorded.message)

    def _span(self, member: str, call: ToolCall, arguments: str, parent: "Context | None", index: int) -> Any:
        """An `execute_tool <tool>` span for a call decided here (a refusal included), when there is telemetry."""
        telemetry = self.telemetry
        if telemetry is None:
            return contextlib.nullcontext()
        attributes: dict[str, object] = {
            **tool_attributes(call.name, f"{self.run_id}/{self.scope()}/{member}/{index}", call.local),
            **run_attributes(self.run_id, f"{self.runbook.name}@{self.runbook.version}"),
        }
        if telemetry.capture_content:
            attributes["gen_ai.tool.call.arguments"] = arguments
        return telemetry.span(f"execute_tool {call.name[:300]}", parent, attributes)

    def _decide(self, member: str, call: ToolCall) -> ToolAnswer:
        spec = next((spec for spec in self.specs if spec.name == call.name), None)
        if spec is None or (spec.kind == "python") != call.local:
            return ToolAnswer.failed("ValueError", f"there is no tool named {call.name[:200]!r}")
        patterns = allowed_patterns(self.runbook, member)
        if not is_allowed(spec.name, patterns):
            return ToolAnswer.failed(
                "PermissionError",
                f"{spec.name} is not allowed for {member}: its allow-list (crew.members.{member}.tools) is "
                f"{patterns or '[]'}; ask the runbook's author to allow it",
            )
        if call.local:
            return ToolAnswer(True)
        return self._made_call(spec, call, self.runbook.tools.timeout_s, self.runbook.tools.max_result_bytes)

    def _made_call(self, spec: ToolSpec, call: ToolCall, timeout_s: float, cap: int) -> ToolAnswer:
        if self.servers is None:
            return ToolAnswer.failed("ToolError", f"{spec.name}: no MCP server is running for this run")
        try:
            result = self.servers.call(spec.namespace, spec.original or spec.function, call.arguments, timeout_s)
        except TimeoutError:
            return ToolAnswer.failed("TimeoutError", f"{spec.name} did not answer within {timeout_s:.0f}s")
        except ToolServerError as exc:
            return ToolAnswer.failed("ToolError", str(self._scrubbed(str(exc))))
        value = self._scrubbed(result.value)
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > cap:
            return ToolAnswer.failed(
                "ValueError", f"{spec.name} returned {size} bytes, over the {cap}-byte cap (tools.max_result_bytes)"
            )
        if result.is_error:
            return ToolAnswer.failed(
                "ToolError", f"{spec.name}: {value if isinstance(value, str) else json.dumps(value)}"
            )
        return ToolAnswer(True, value)

    def _scrubbed(self, value: Json) -> Json:
        """The servers' secrets (resolved `${...}` values) replaced by *** wherever a result holds them."""
        if isinstance(value, str):
            return scrubbed_text(value, self.secrets)
        if isinstance(value, list):
            return [self._scrubbed(item) for item in value]
        if isinstance(value, dict):
            return {str(self._scrubbed(key)): self._scrubbed(item) for key, item in value.items()}
        return value

    def _traced(
        self,
        member: str,
        turn: int,
        call: ToolCall,
        arguments: str,
        answer: ToolAnswer,
        duration: float,
        replayed: bool = False,
        spans: JsonObject | None = None,
    ) -> None:
        """A trace turn for the call; `arguments` is its canonical JSON; `spans`: the ids it was exported with."""
        shown = json.dumps(answer.value, ensure_ascii=False) if answer.ok else f"{answer.error_type}: {answer.message}"
        refused = answer.error_type == "PermissionError"
        data: JsonObject = {
            "status": "tool_call",
            "tool": call.name,
            "arguments": arguments[:PREVIEW_CHARS],
            "outcome": "ok" if answer.ok else "refused" if refused else "error",
            "result": shown[:PREVIEW_CHARS],
            "duration_s": round(duration, 4),
            "replayed": replayed,
            "flags": list(visible(shown + arguments).flags),
        }
        if spans:
            data["spans"] = spans
        self.trace(member, turn, data)


def check_servers_start(loaded: LoadedRunbook, environ: Mapping[str, str] | None = None) -> list[ToolSpec]:
    """Start the runbook's MCP servers, list their tools against the allow-lists, and stop them.

    Run before a run is recorded, so a server that does not start, or an allow-list naming a
    tool no server has, stops `crewgate run` with nothing recorded. BadInput says which.
    """
    if not loaded.runbook.tools.mcp:
        return []
    secrets: list[str] = []
    try:
        specs, secrets = server_specs(loaded, os.environ if environ is None else environ)
        servers = McpServers(specs)
        try:
            return mcp_specs(servers, loaded.runbook)
        finally:
            servers.close()
    except ToolServerError as exc:
        raise BadInput(f"{loaded.file}: {scrubbed_text(str(exc), secrets)}; nothing was recorded") from exc


def scrubbed_text(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
