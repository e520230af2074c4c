"""The live display of a batch: done / waiting for review / failed / running, elapsed and rate.

On a terminal one line is redrawn in place; otherwise (a pipe, CI) a line is
printed whenever a count changes. `--json` prints an event per change instead.
"""

import json
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from ..service.batch_list import batch_counts

if TYPE_CHECKING:
    from ..service.run_services import RunServices


class BatchProgress:
    def __init__(self, services: "RunServices", batch_id: str, as_json: bool) -> None:
        self.services = services
        self.batch_id = batch_id
        self.as_json = as_json
        self.began = time.monotonic()
        self.last: dict[str, int] | None = None
        self.redraw = sys.stdout.isatty() and not as_json

    def __call__(self) -> None:
        counts = batch_counts(self.services, self.batch_id)
        if counts == self.last and not self.redraw:
            return
        self.last = counts
        elapsed = time.monotonic() - self.began
        if self.as_json:
            event = {"event": "batch", "batch": self.batch_id, "counts": counts, "elapsed_s": round(elapsed, 1)}
            click.echo(json.dumps(event))
        else:
            line = progress_line(counts, elapsed)
            click.echo(f"\r{line}\033[K" if self.redraw else line, nl=not self.redraw)
        sys.stdout.flush()

    def finish(self) -> None:
        if self.redraw:
            click.echo()


def counts_text(counts: dict[str, int]) -> str:
    """`3/6 done · 2 waiting for review · 0 failed · 1 running · 0 queued` (and cancelled, if any)."""
    parts = [
        f"{counts['done']}/{sum(counts.values())} done",
        f"{counts['waiting']} waiting for review",
        f"{counts['failed']} failed",
        f"{counts['running']} running",
        f"{counts['queued']} queued",
    ]
    if counts["cancelled"]:
        parts.append(f"{counts['cancelled']} cancelled")
    return " · ".join(parts)


def progress_line(counts: dict[str, int], elapsed: float) -> str:
    settled = counts["done"] + counts["waiting"] + counts["failed"] + counts["cancelled"]
    rate = settled / elapsed * 60 if elapsed > 0 else 0.0
    return f"[{elapsed:6.1f}s] {counts_text(counts)} · {rate:.1f} runs/min"


def summary_lines(view: Any) -> list[str]:
    """The end of `batch start` and the body of `batch show`: every run, its status, its review, the cost."""
    from ..service.views import cost_text

    lines = [f"batch {view.id}: {view.runbook}, {view.total} run(s), concurrency {view.concurrency}, {view.status}"]
    counts = view.counts
    lines.append("  " + " · ".join(f"{number} {name}" for name, number in counts.items() if number))
    lines.append(f"  cost {cost_text(view.cost_usd, view.unpriced_calls)}")
    for run in view.runs:
        review = f"review {run.review} ({run.review_status})" if run.review else ""
        lines.append(f"  {run.position:>3}. {run.run}  {run.status:<10} {review}".rstrip())
    if counts["waiting"]:
        lines.append(f"  to review:  crewgate review list --batch {view.id} --status pending")
        lines.append("  approve:    crewgate review approve REVIEW --reviewer YOUR_NAME")
    return lines
