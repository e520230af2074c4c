"""MCP servers for one run, on the host: started (or reached) once, listed, called, stopped.

The `mcp` SDK is asynchronous; a run is not. `McpServers` keeps one event loop in a
thread of its own, and one task per server that holds the server's session open
until `close()` (the SDK's transports must be entered and left in one task). Calls
from a cell's thread are sent into that loop and waited for with a timeout.

A stdio server gets the SDK's minimal environment (PATH, HOME, ...) plus its own
`env`, never crewgate's: a model key in crewgate's environment does not reach it.
What it writes on stderr goes to a temporary file, read only to explain a failed start.
"""

import asyncio
import concurrent.futures
import contextlib
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..errors import AgentError

START_TIMEOUT_S = 60.0


class ToolServerError(AgentError):
    """An MCP server did not start, answer or list its tools."""


@dataclass(frozen=True)
class ServerSpec:
    """How to reach one server: a command (stdio) or a URL (streamable HTTP). `env`/`headers` are resolved values."""

    name: str
    command: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None


@dataclass(frozen=True)
class ListedTool:
    name: str
    description: str | None
    input_schema: dict[str, Any]
    structured: bool


@dataclass(frozen=True)
class ToolResult:
    """A call's outcome as plain data: structured content, else the text (or the content blocks)."""

    value: Any
    is_error: bool


class McpServers:
    """The run's servers. `start()` before anything; `close()` stops every stdio server it started."""

    def __init__(self, specs: Sequence[ServerSpec]) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="crewgate-mcp", daemon=True)
        self._sessions: dict[str, Any] = {}
        self._stop: asyncio.Event | None = None
        self._tasks: list[concurrent.futures.Future[None]] = []
        self._logs: dict[str, Any] = {}

    def start(self, timeout_s: float = START_TIMEOUT_S) -> dict[str, list[ListedTool]]:
        """Start every server and list its tools; ToolServerError names the first that failed (all are stopped)."""
        self._thread.start()
        listed: dict[str, list[ListedTool]] = {}
        try:
            self._stop = self._run(self._make_event(), 5)
            for name, spec in self.specs.items():
                ready: asyncio.Future[list[ListedTool]] = self._run(self._make_future(), 5)
                self._tasks.append(asyncio.run_coroutine_threadsafe(self._serve(spec, ready), self._loop))
                try:
                    listed[name] = asyncio.run_coroutine_threadsafe(_wait(ready), self._loop).result(timeout_s)
                except TimeoutError as exc:
                    raise ToolServerError(
                        f"MCP server {name!r} did not answer within {timeout_s:.0f}s{self._log_tail(name)}"
                    ) from exc
                except ToolServerError:
                    raise
                except Exception as exc:  # noqa: BLE001 -- whatever the SDK or the server raised, said once, by name
                    raise ToolServerError(
                        f"MCP server {name!r} did not start: {_describe(exc)}{self._log_tail(name)}"
                    ) from exc
        except BaseException:
            self.close()
            raise
        return listed

    def call(self, server: str, tool: str, arguments: Mapping[str, Any], timeout_s: float) -> ToolResult:
        """Call `tool` on `server`; TimeoutError past `timeout_s`, ToolServerError when the server is gone."""
        session = self._sessions.get(server)
        if session is None:
            raise ToolServerError(f"MCP server {server!r} is not running")
        call = session.call_tool(tool, dict(arguments), read_timeout_seconds=timedelta(seconds=timeout_s))
        future = asyncio.run_coroutine_threadsafe(call, self._loop)
        try:
            result = future.result(timeout_s + 5)
        except TimeoutError:
            future.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 -- the SDK's own errors (a read timeout is one of them)
            if "timed out" in str(exc).lower():
                raise TimeoutError(f"{server}.{tool} did not answer within {timeout_s:.0f}s") from exc
            raise ToolServerError(f"{server}.{tool}: {_describe(exc)}") from exc
        return _result(result)

    def close(self) -> None:
        """Stop every server and the loop. Safe to call twice."""
        if not self._thread.is_alive():
            return
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        for task in self._tasks:
            with contextlib.suppress(Exception):
                task.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        for log in self._logs.values():
            log.close()

    # -- in the loop ----------------------------------------------------------
    async def _serve(self, spec: ServerSpec, ready: "asyncio.Future[list[ListedTool]]") -> None:
        from mcp import ClientSession

        stop = self._stop
        if stop is None:
            raise ToolServerError("McpServers: start() makes the stop event first")
        try:
            async with self._transport(spec) as streams, ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                tools = (await session.list_tools()).tools
                self._sessions[spec.name] = session
                listed = [
                    ListedTool(t.name, t.description, dict(t.inputSchema or {}), t.outputSchema is not None)
                    for t in tools
                ]
                ready.set_result(listed)
                await stop.wait()
        except BaseException as exc:  # noqa: BLE001 -- reported to start(), or the server died: calls then fail by name
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else ToolServerError(str(exc)))
        finally:
            self._sessions.pop(spec.name, None)

    def _transport(self, spec: ServerSpec) -> Any:
        if spec.url is not None:
            from mcp.client.streamable_http import streamablehttp_client

            return streamablehttp_client(spec.url, headers=dict(spec.headers) or None)
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        log = self._logs[spec.name] = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        parameters = StdioServerParameters(
            command=spec.command[0], args=list(spec.command[1:]), env=dict(spec.env), cwd=spec.cwd
        )
        return stdio_client(parameters, errlog=log)

    def _log_tail(self, name: str) -> str:
        log = self._logs.get(name)
        if log is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            log.seek(0)
            tail = log.read()[-1500:].strip()
            if tail:
                return f"; it said: {tail}"
        return ""

    async def _make_event(self) -> asyncio.Event:
        return asyncio.Event()

    async def _make_future(self) -> "asyncio.Future[list[ListedTool]]":
        return asyncio.get_running_loop().create_future()

    def _run(self, coroutine: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)


async def _wait(ready: "asyncio.Future[list[ListedTool]]") -> list[ListedTool]:
    return await ready


def _describe(exc: BaseException) -> str:
    """An exception (or the first of an exception group, as anyio raises them) in one line."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}".strip().rstrip(":")


def _result(result: Any) -> ToolResult:
    if result.structuredContent is not None:
        return ToolResult(result.structuredContent, result.isError)
    texts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
    if len(texts) == len(result.content):
        return ToolResult("\n".join(texts), result.isError)
    return ToolResult([block.model_dump(mode="json", exclude_none=True) for block in result.content], result.isError)
