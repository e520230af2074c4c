"""What one member gets of the run's tools: their stubs in its prompt, their definitions in the session,
and the host side of its calls."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from executors.tools import ToolHandler

if TYPE_CHECKING:
    from opentelemetry.context import Context


@dataclass(frozen=True)
class MemberTools:
    """`prompt`: the stubs section of the member's system prompt (only what it may call).
    `setup_code`: defines every tool namespace in the kernel (run before the member's first cell, and again
    after a kernel restart). `handler(turn, span)`: answers the calls of one cell, made in that turn."""

    prompt: str
    setup_code: str
    handler: Callable[[int, "Context | None"], ToolHandler]
