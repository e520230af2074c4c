"""Where model-written code runs: stateful, hardened, shared by a whole crew.

The names below are imported on first use (PEP 562), so `executors._version` or
`executors.errors` alone cost nothing more: a read command (`crewgate runs list`)
must not pay for the Docker client it never uses.
"""

from typing import TYPE_CHECKING

from .lazy_names import lazy_names

if TYPE_CHECKING:  # what a type checker sees: the same names, imported at once
    from .docker_sandbox import DockerSandbox as DockerSandbox
    from .errors import CrewgateError as CrewgateError
    from .errors import ExecTimeout as ExecTimeout
    from .errors import KernelDied as KernelDied
    from .errors import SandboxError as SandboxError
    from .errors import SandboxStateError as SandboxStateError
    from .errors import SandboxUnavailable as SandboxUnavailable
    from .errors import WorkspaceError as WorkspaceError
    from .limits import SandboxLimits as SandboxLimits
    from .local_sandbox import LocalSandbox as LocalSandbox
    from .protocol import Sandbox as Sandbox
    from .protocol import SandboxState as SandboxState
    from .result import ExecutionResult as ExecutionResult

_HOMES = {
    "CrewgateError": ".errors",
    "DockerSandbox": ".docker_sandbox",
    "ExecTimeout": ".errors",
    "ExecutionResult": ".result",
    "KernelDied": ".errors",
    "LocalSandbox": ".local_sandbox",
    "Sandbox": ".protocol",
    "SandboxError": ".errors",
    "SandboxLimits": ".limits",
    "SandboxState": ".protocol",
    "SandboxStateError": ".errors",
    "SandboxUnavailable": ".errors",
    "WorkspaceError": ".errors",
}

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


__getattr__ = lazy_names(__name__, _HOMES)
