"""The Sandbox seam: what every executor offers the agents."""

import enum
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, Self, runtime_checkable

from .result import ExecutionResult
from .tools import ToolHandler


class SandboxState(enum.Enum):
    """Lifecycle of a session: NEW -> RUNNING -> CLOSED (never reopened)."""

    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


@runtime_checkable
class Sandbox(Protocol):
    """A stateful place to run Python: one namespace and one /workspace per session."""

    @property
    def state(self) -> SandboxState: ...

    @property
    def isolated(self) -> bool: ...

    @property
    def workdir(self) -> str:
        """The workspace folder as the sandbox's own processes see it (where checks run)."""
        ...

    @property
    def replacements(self) -> int:
        """How many times the session's kernel or container was replaced (its variables lost)."""
        ...

    def start(self) -> Self: ...

    def execute(self, code: str, timeout: float | None = None, tools: ToolHandler | None = None) -> ExecutionResult:
        """Run a cell; `tools` answers the calls it makes to tools (none: every call is refused)."""
        ...

    def put_files(self, files: Mapping[str, bytes | str]) -> int: ...

    def put_directory(self, source: str | Path, dest: str = "") -> int: ...

    def read_file(self, path: str) -> bytes: ...

    def snapshot(self) -> bytes: ...

    def restore(self, archive: bytes) -> int: ...

    def close(self) -> None: ...

    def interrupt(self) -> None:
        """Interrupt the running cell from any thread, as a timeout does (variables kept)."""
        ...

    def abort(self, reason: str) -> None:
        """Kill the session from any thread: a running cell ends at once, later calls raise SandboxAborted."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...
