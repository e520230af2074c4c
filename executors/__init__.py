"""Where model-written code runs: stateful, hardened, shared by a whole crew."""

from .docker_sandbox import DockerSandbox
from .errors import (
    CrewgateError,
    ExecTimeout,
    KernelDied,
    SandboxError,
    SandboxStateError,
    SandboxUnavailable,
    WorkspaceError,
)
from .limits import SandboxLimits
from .local_sandbox import LocalSandbox
from .protocol import Sandbox, SandboxState
from .result import ExecutionResult

__all__ = [
    "CrewgateError",
    "DockerSandbox",
    "ExecTimeout",
    "ExecutionResult",
    "KernelDied",
    "LocalSandbox",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "SandboxState",
    "SandboxStateError",
    "SandboxUnavailable",
    "WorkspaceError",
]
