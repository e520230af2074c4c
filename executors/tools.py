"""Tool calls from a cell: what reaches the host and what it answers.

A cell calls a tool as a Python function; the kernel sends the call over the
session's channel and waits. The host side is a `ToolHandler` passed to
`Sandbox.execute` for that one cell: it knows who is running the cell, what
they may call, and what has been recorded, and nothing from the sandbox can
change that. A cell run without a handler (a check step, a bare session) gets
every call refused.
"""

from collections.abc import Callable
from dataclasses import dataclass

Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]


@dataclass(frozen=True)
class ToolCall:
    """One call as the sandbox sent it: untrusted, already checked for shape.

    `local` calls are to a Python tool module's function, which runs in the sandbox
    itself: the host only allows or refuses (and counts) them.
    """

    name: str
    arguments: dict[str, Json]
    local: bool = False


@dataclass(frozen=True)
class ToolAnswer:
    """What the cell gets back: `value` as Python data, or an exception of `error_type` with `message`.

    `error_type` is PermissionError, TimeoutError or ValueError (raised as those), anything
    else is raised as the kernel's `ToolError`.
    """

    ok: bool
    value: Json = None
    error_type: str = ""
    message: str = ""

    @classmethod
    def failed(cls, error_type: str, message: str) -> "ToolAnswer":
        return cls(False, None, error_type, message)

    def to_message(self, call: int) -> dict[str, Json]:
        return {
            "op": "tool_result",
            "call": call,
            "ok": self.ok,
            "value": self.value,
            "error_type": self.error_type,
            "message": self.message,
        }


ToolHandler = Callable[[ToolCall], ToolAnswer]


def no_tools(call: ToolCall) -> ToolAnswer:
    """The handler of a cell nobody gave tools to."""
    return ToolAnswer.failed("PermissionError", f"{call.name}: no tools are available to this code")
