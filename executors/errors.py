"""The crewgate error family.

One base class, a branch per concern. Messages say what happened, where, and
what to do next; third-party exceptions are translated once, at the boundary.
"""


class CrewgateError(Exception):
    """Base of every error crewgate raises on purpose."""


class SandboxError(CrewgateError):
    """The sandbox (not the code in it) failed or was misused."""


class SandboxUnavailable(SandboxError):
    """No sandbox can be started: engine unreachable, image missing, bad limits."""


class KernelDied(SandboxError):
    """The sandbox stopped answering and was replaced; its state is gone."""


class ExecTimeout(SandboxError):
    """The sandbox did not answer a file operation in time."""


class SandboxStateError(SandboxError):
    """A sandbox method was called in a lifecycle state that does not allow it."""


class WorkspaceError(SandboxError):
    """A file transfer was refused: unsafe path, symlink escape, size limit."""


class SandboxLost(SandboxError):
    """A run's sandbox container was replaced in the middle of a step, more often than a retry can mend."""
