"""What the batch service returns: frozen values for `batch list/show` and an HTTP API."""

from dataclasses import dataclass, field

from ..plain import Json


@dataclass(frozen=True)
class StartedBatch:
    id: str
    runbook: str  # NAME@VERSION
    runbook_sha256: str
    concurrency: int
    runs: tuple[str, ...]


@dataclass(frozen=True)
class BatchRunView:
    """One run of a batch: its place in the batch, status, newest review, and how to see its trace."""

    run: str
    position: int  # 1 for the inputs file's first row
    status: str
    message: str
    review: str | None
    review_status: str | None
    trace: str  # the command that shows its trace
    cost_usd: float = 0.0
    inputs: dict[str, Json] = field(default_factory=dict)  # its row; an input named like a secret shows "***"


@dataclass(frozen=True)
class BatchView:
    """A batch: counts by status (done, waiting, failed, cancelled, running, queued) and, for `show`, its runs."""

    id: str
    runbook: str
    status: str  # open, ended (every run ended), cancelled
    concurrency: int
    source: str
    requester: str
    created_at: str
    total: int
    counts: dict[str, int]
    runs: tuple[BatchRunView, ...] = ()  # `show`: a page of its runs, in the order of its inputs file
    cost_usd: float = 0.0  # every run's model calls (litellm's prices)
    unpriced_calls: int = 0  # calls litellm had no price for: cost_usd is then a lower bound
    runs_cursor: str | None = None  # `show`: the cursor of the next page of its runs; None after the last
