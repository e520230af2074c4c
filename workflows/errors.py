"""Errors of the workflow layer, with where they happened."""

from dataclasses import dataclass

from executors.errors import BadInput, CrewgateError, NotFound

__all__ = ["BadInput", "CrewgateError", "NotFound"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a runbook, at `file:line:col` (1-based)."""

    file: str
    line: int
    col: int
    message: str
    path: str = ""

    def __str__(self) -> str:
        where = f" (at {self.path})" if self.path else ""
        return f"{self.file}:{self.line}:{self.col}: {self.message}{where}"


class RunbookError(BadInput):
    """A runbook cannot be used; `problems` says every place that is wrong."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.col))
        super().__init__("\n".join(str(problem) for problem in self.problems))


class RunError(BadInput):
    """A run cannot start or continue (bad inputs, unknown runbook version, ...)."""


class RunCancelled(CrewgateError):
    """The run was cancelled while this process worked on it: it stops here, spending nothing more."""


class GateError(BadInput):
    """A review decision was refused; nothing was changed."""


class GateForbidden(GateError):
    """The gate's policy does not let this person decide (not a listed reviewer, or the requester approving)."""


class PromotionError(CrewgateError):
    """Approved bytes could not be applied to their target (or were tampered with)."""


class StoreCorrupt(CrewgateError):
    """Stored bytes no longer match the hash they were recorded under: the store was modified."""


class IdentityError(GateError):
    """A person's name cannot be used: empty, only whitespace, or holding control or invisible characters."""
