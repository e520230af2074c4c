"""The crewgate error family.

One base class, a branch per concern. Messages say what happened, where, and
what to do next; third-party exceptions are translated once, at the boundary.
Each class carries the exit code the CLI leaves with when it reaches the user,
so `crewgate` has one map from what went wrong to how it exits.
"""

from enum import IntEnum


class Exit(IntEnum):
    """crewgate's exit codes (documented in the README and `crewgate --help`)."""

    OK = 0
    FAILED = 1  # a run failed or was rejected, or an operation could not be done
    BAD_INPUT = 2  # the command, runbook, input or id is wrong: fix it and try again
    ENVIRONMENT = 3  # the machine is not ready: Docker unreachable, sandbox image missing
    WAITING = 10  # a run is waiting at a gate for a review decision
    INTERRUPTED = 130  # Ctrl-C


class CrewgateError(Exception):
    """Base of every error crewgate raises on purpose."""

    exit_code: Exit = Exit.FAILED


class BadInput(CrewgateError):
    """What the user gave cannot be used: a wrong id, a bad argument, a malformed file."""

    exit_code = Exit.BAD_INPUT


class NotFound(BadInput):
    """An id (run, review, runbook version) that names nothing."""


class SandboxError(CrewgateError):
    """The sandbox (not the code in it) failed or was misused."""


class SandboxUnavailable(SandboxError):
    """No sandbox can be started: engine unreachable, image missing, bad limits."""

    exit_code = Exit.ENVIRONMENT


class KernelDied(SandboxError):
    """The sandbox stopped answering and was replaced; its state is gone."""


class ExecTimeout(SandboxError):
    """The sandbox did not answer a file operation in time."""


class SandboxStateError(SandboxError):
    """A sandbox method was called in a lifecycle state that does not allow it."""


class WorkspaceError(SandboxError):
    """A file transfer was refused: unsafe path, symlink escape, size limit."""

    exit_code = Exit.BAD_INPUT


class SandboxAborted(SandboxError):
    """The session was aborted from outside (its run was cancelled): its cell was killed and nothing replaces it."""


class SandboxLost(SandboxError):
    """A run's sandbox container was replaced in the middle of a step, more often than a retry can mend."""
