"""What DockerSandbox and LocalSandbox share: lifecycle, cells and files.

Subclasses only provision: start a supervisor somewhere and hand back a
transport to it (`_provision`), and tear it down (`_discard`).
"""

import abc
import base64
import contextlib
import logging
import secrets
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from ._channel import Channel, ChannelBroken
from ._tarsafe import check_archive, pack_directory, pack_files, relative_path
from ._transport import Transport
from .errors import KernelDied, SandboxAborted, SandboxStateError, SandboxUnavailable, WorkspaceError
from .limits import SandboxLimits
from .protocol import SandboxState
from .result import ExecutionResult
from .tools import ToolAnswer, ToolCall, ToolHandler, no_tools

log = logging.getLogger("crewgate.sandbox")

STARTUP_TIMEOUT_S = 30.0
REPLY_SLACK_S = 10.0
FILE_TIMEOUT_S = 120.0

_TEXT_FIELDS = ("stdout", "stderr", "traceback")
_FLAG_FIELDS = ("timed_out", "truncated", "kernel_restarted")


class KernelSandbox(abc.ABC):
    """A session with one supervisor+kernel; see `executors.protocol.Sandbox`."""

    isolated: bool = True

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self._state = SandboxState.NEW
        self._channel: Channel | None = None
        self.replacements = 0
        self._aborted: str | None = None  # why abort() was called; then nothing is replaced or run again

    # -- provisioning, per subclass -----------------------------------------
    @abc.abstractmethod
    def _provision(self, key: bytes) -> Transport:
        """Start a supervisor, hand it `key` (the first line on its stdin: what it signs its lines with, see
        `_channel`), and return a transport to it."""

    @abc.abstractmethod
    def _discard(self) -> None:
        """Stop the supervisor and free everything `_provision` made. Idempotent."""

    def _diagnostics(self) -> str:
        """Anything the supervisor said on its own stderr, for error messages."""
        return ""

    def _kill(self) -> None:
        """Stop the supervisor at once, from any thread (the one running a cell may be blocked on it)."""
        self._discard()

    def describe(self) -> str:
        return type(self).__name__

    # -- lifecycle ----------------------------------------------------------
    @property
    def state(self) -> SandboxState:
        return self._state

    def start(self) -> Self:
        """Start the session. Raises SandboxUnavailable when it cannot."""
        if self._state is SandboxState.RUNNING:
            raise SandboxStateError(f"{self.describe()} is already started")
        if self._state is SandboxState.CLOSED:
            raise SandboxStateError(f"{self.describe()} is closed; open a new session")
        self._connect()
        self._state = SandboxState.RUNNING
        return self

    def _connect(self) -> None:
        key = secrets.token_hex(32).encode()  # a new one for every supervisor
        transport = self._provision(key)
        channel = Channel(transport, key)
        try:
            channel.handshake(STARTUP_TIMEOUT_S)
        except ChannelBroken as exc:
            detail = self._diagnostics()
            self._discard()
            raise SandboxUnavailable(
                f"{self.describe()} did not start: {exc}. {detail}".strip()
                + " Run `crewgate sandbox doctor` to see what is missing."
            ) from exc
        self._channel = channel

    def close(self) -> None:
        """End the session and free its resources. Safe to call twice."""
        if self._state is SandboxState.RUNNING:
            self._channel = None
            self._discard()
        self._state = SandboxState.CLOSED

    def abort(self, reason: str) -> None:
        """Kill the session from any thread: a running cell ends at once with SandboxAborted, as does every later call.

        Unlike a timeout, nothing is kept or replaced: this is how a cancelled run stops
        spending. The owner still calls `close()`, which frees what is left.
        """
        self._aborted = reason
        if self._state is SandboxState.RUNNING:
            self._kill()

    def interrupt(self) -> None:
        """Interrupt the running cell from any thread, as a timeout does: it ends with KeyboardInterrupt, state kept.

        A cell that ignores the interrupt is killed after the grace period (state lost, reported).
        No cell running: nothing happens.
        """
        channel = self._channel
        if channel is None or self._state is not SandboxState.RUNNING:
            return
        with contextlib.suppress(ChannelBroken):  # the supervisor is gone: the running call finds out
            channel.notify({"op": "interrupt"})

    def __enter__(self) -> Self:
        return self.start() if self._state is SandboxState.NEW else self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _require_running(self) -> Channel:
        if self._aborted is not None:
            raise SandboxAborted(f"{self.describe()} was aborted: {self._aborted}")
        if self._state is SandboxState.NEW:
            raise SandboxStateError(f"{self.describe()} is not started; call start() or use it in a `with` block")
        if self._state is SandboxState.CLOSED or self._channel is None:
            raise SandboxStateError(f"{self.describe()} is closed; open a new session")
        return self._channel

    def _replace(self, reason: ChannelBroken) -> str:
        """The supervisor is gone or misbehaving: start a fresh one in its place."""
        log.warning("%s: replacing the sandbox: %s", self.describe(), reason)
        self._channel = None
        self._discard()
        self.replacements += 1
        self._connect()
        if self._aborted is not None:  # aborted while the fresh supervisor started: it does not get to run
            self._channel = None
            self._discard()
            raise SandboxAborted(f"{self.describe()} was aborted: {self._aborted}")
        return (
            f"[crewgate] the sandbox stopped answering ({reason}); a fresh sandbox was started: "
            "variables, imports and /workspace files from before are gone\n"
        )

    # -- cells --------------------------------------------------------------
    def execute(self, code: str, timeout: float | None = None, tools: ToolHandler | None = None) -> ExecutionResult:
        """Run `code` in the session's namespace. The code's own errors come back as data.

        `tools` answers the tool calls this cell makes (see `executors.tools`); without it every call is refused.
        """
        channel = self._require_running()
        limits = self.limits
        timeout = limits.timeout_s if timeout is None else float(timeout)
        request = {"op": "exec", "code": code, "timeout": timeout, "grace": limits.grace_s, "cap": limits.output_bytes}
        started = time.perf_counter()
        try:
            reply = channel.call(
                request,
                timeout + limits.grace_s + REPLY_SLACK_S,
                24 * limits.output_bytes + 65536,
                lambda message: _answer_tool(message, tools or no_tools),
            )
            return _result_from(reply, time.perf_counter() - started)
        except ChannelBroken as exc:
            if self._aborted is not None:
                raise SandboxAborted(f"{self.describe()} was aborted: {self._aborted}") from exc
            notice = self._replace(exc)
            return ExecutionResult(
                stderr=notice,
                error="KernelDied",
                traceback=notice,
                timed_out=time.perf_counter() - started >= timeout,
                kernel_restarted=True,
                duration_s=time.perf_counter() - started,
            )

    # -- files --------------------------------------------------------------
    def put_files(self, files: Mapping[str, bytes | str]) -> int:
        """Write files (relative name -> content) into /workspace; return how many."""
        return int(self._file_call({"op": "put", "tar": _b64(pack_files(files))})["files"])

    def put_directory(self, source: str | Path, dest: str = "") -> int:
        """Copy a host folder into /workspace (or a subfolder); return the file count."""
        archive = pack_directory(Path(source), dest, self.limits.transfer_bytes)
        return int(self._file_call({"op": "put", "tar": _b64(archive)})["files"])

    def read_file(self, path: str) -> bytes:
        """Read one regular file from /workspace; links out of it are refused."""
        reply = self._file_call({"op": "get", "path": relative_path(path), "limit": self.limits.transfer_bytes})
        data = _unb64(reply.get("data"))
        if len(data) > self.limits.transfer_bytes:
            raise WorkspaceError(f"{path} is larger than the {self.limits.transfer_bytes}-byte transfer limit")
        return data

    def snapshot(self) -> bytes:
        """A tar of /workspace (links kept as links), checked before it is returned."""
        reply = self._file_call({"op": "snapshot", "limit": self.limits.transfer_bytes})
        archive = _gunzip(_unb64(reply.get("tar_gz")), self.limits.transfer_bytes * 2 + 65536)
        check_archive(archive, self.limits.transfer_bytes)
        return archive

    def restore(self, archive: bytes) -> int:
        """Replace /workspace with the contents of a snapshot; return the file count."""
        check_archive(archive, self.limits.transfer_bytes)
        return int(self._file_call({"op": "restore", "tar": _b64(archive)})["files"])

    def _file_call(self, request: dict[str, Any]) -> dict[str, Any]:
        channel = self._require_running()
        limit = self.limits.transfer_bytes * 3 // 2 + 1024 * 1024
        try:
            reply = channel.call(request, FILE_TIMEOUT_S, limit)
        except ChannelBroken as exc:
            if self._aborted is not None:
                raise SandboxAborted(f"{self.describe()} was aborted: {self._aborted}") from exc
            notice = self._replace(exc)
            raise KernelDied(f"{self.describe()}: {request['op']} failed. {notice.strip()}") from exc
        if reply.get("ok") is not True:
            raise WorkspaceError(f"{self.describe()}: {request['op']} refused: {reply.get('error')}")
        return reply


def _answer_tool(message: dict[str, Any], tools: ToolHandler) -> dict[str, Any] | None:
    """The host's answer to a tool call from the sandbox; other messages are not answered."""
    call, name, arguments = message.get("call"), message.get("name"), message.get("arguments")
    if message.get("op") != "tool" or not isinstance(call, int):
        return None
    if not isinstance(name, str) or not isinstance(arguments, dict) or not isinstance(message.get("local"), bool):
        return ToolAnswer.failed("ValueError", "malformed tool call").to_message(call)
    try:
        answer = tools(ToolCall(name, arguments, message["local"]))
    except Exception as exc:  # noqa: BLE001 -- the cell waits for an answer whatever went wrong here
        log.warning("tool call %s failed on the host: %s", name[:80], exc)
        answer = ToolAnswer.failed("ToolError", f"{name}: crewgate could not complete the call ({type(exc).__name__})")
    return answer.to_message(call)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise WorkspaceError("the sandbox sent a malformed file reply")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise WorkspaceError("the sandbox sent a malformed file reply") from exc


def _gunzip(data: bytes, cap: int) -> bytes:
    """The tar the sandbox packed, unzipped to at most `cap` bytes (a zip bomb stops there)."""
    unzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        archive = unzip.decompress(data, cap + 1)
    except zlib.error as exc:
        raise WorkspaceError(f"the sandbox sent an unreadable snapshot: {exc}") from exc
    if len(archive) > cap or unzip.unconsumed_tail:
        raise WorkspaceError(f"the sandbox sent a snapshot that unpacks to more than {cap} bytes")
    if not unzip.eof:
        raise WorkspaceError("the sandbox sent a truncated snapshot")
    return archive


def _result_from(reply: dict[str, Any], duration: float) -> ExecutionResult:
    """Build a result from a reply, checking every field's type: the reply is untrusted."""
    if reply.get("ok") is not True:
        raise ChannelBroken(f"the sandbox supervisor did not run the cell: {str(reply.get('error'))[:200]}")
    for name in _TEXT_FIELDS:
        if not isinstance(reply.get(name), str):
            raise ChannelBroken(f"reply field {name!r} is not text")
    for name in ("value", "error"):
        if reply.get(name) is not None and not isinstance(reply.get(name), str):
            raise ChannelBroken(f"reply field {name!r} is not text or null")
    return ExecutionResult(
        stdout=reply["stdout"],
        stderr=reply["stderr"],
        value=reply.get("value"),
        error=reply.get("error"),
        traceback=reply["traceback"],
        timed_out=bool(reply.get("timed_out")),
        truncated=bool(reply.get("truncated")),
        kernel_restarted=bool(reply.get("kernel_restarted")),
        duration_s=duration,
    )
