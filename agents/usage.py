"""Token and money accounting, and the per-run budget."""

import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import BudgetExceeded


@dataclass(frozen=True)
class Usage:
    """What model calls consumed. Adds up with `+`.

    `unpriced_calls` counts calls to models litellm has no price for: their cost is
    counted as 0, so a total with unpriced calls is a lower bound, and says so.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    unpriced_calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cost_usd + other.cost_usd,
            self.calls + other.calls,
            self.unpriced_calls + other.unpriced_calls,
        )


class Budget:
    """A run's spending limit, shared by every member of the run (thread-safe).

    Args:
        max_tokens: total prompt+completion tokens allowed, or None.
        max_usd: total cost allowed in US dollars, or None.
        ledger: what the run has spent so far, read from where its calls are recorded. With a
            ledger the budget holds across processes, crashes and resumes (the records are the
            truth and `charge` adds nothing); without one, spending is counted in memory.
    """

    def __init__(
        self, max_tokens: int | None = None, max_usd: float | None = None, ledger: Callable[[], Usage] | None = None
    ) -> None:
        self.max_tokens = max_tokens
        self.max_usd = max_usd
        self._ledger = ledger
        self._spent = Usage()
        self._lock = threading.Lock()

    @property
    def spent(self) -> Usage:
        return self._ledger() if self._ledger is not None else self._spent

    def charge(self, usage: Usage) -> None:
        if self._ledger is not None:
            return  # the call is already recorded, and so counted
        with self._lock:
            self._spent = self._spent + usage

    def check(self) -> None:
        """Raise BudgetExceeded when nothing is left for another call."""
        spent = self.spent
        if self.max_tokens is not None and spent.total_tokens >= self.max_tokens:
            raise BudgetExceeded(
                f"budget exceeded: {spent.total_tokens} of {self.max_tokens} tokens used; "
                "raise the run's token budget or shorten the task"
            )
        if self.max_usd is not None and spent.cost_usd >= self.max_usd:
            raise BudgetExceeded(
                f"budget exceeded: ${spent.cost_usd:.4f} of ${self.max_usd:.4f} spent; raise the run's cost budget"
            )
