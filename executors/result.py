"""The result of running one cell."""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ExecutionResult:
    """What one `execute` call produced. What the code did wrong is data here, never an exception.

    Attributes:
        stdout: captured standard output of the cell and its child processes.
        stderr: captured standard error, plus crewgate notices prefixed "[crewgate]".
        value: repr of the cell's last expression, as a REPL shows it, else None.
        error: exception type name (e.g. "NameError", "TimeoutError", "KernelDied") or None.
        traceback: the formatted traceback, with line numbers of the cell ("<cell-N>").
        timed_out: the cell ran past its timeout and was interrupted.
        truncated: some output or the value was elided to stay within the output cap.
        kernel_restarted: the kernel was replaced: variables, imports and functions are gone.
        duration_s: wall-clock round trip seen by the host.
    """

    stdout: str = ""
    stderr: str = ""
    value: str | None = None
    error: str | None = None
    traceback: str = ""
    timed_out: bool = False
    truncated: bool = False
    kernel_restarted: bool = False
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the cell finished without an error."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)
