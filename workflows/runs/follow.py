"""Following a run's progress from its records, in time order, until it ends or waits."""

import time
from collections.abc import Callable

from executors.errors import Exit

from ..plain import Event, json_object
from ..store.records import Records
from ..store.rows import TERMINAL


def exit_code(status: str) -> int:
    """The CLI's exit code for a run that ended (or waits) in `status`."""
    if status == "waiting":
        return Exit.WAITING
    return Exit.OK if status in ("promoted", "completed") else Exit.FAILED


def follow(
    records: Records, run_id: str, say: Callable[[Event], None], poll_s: float = 0.2, replay: bool = True
) -> int:
    """Report progress, in time order, until the run ends or waits at a pending review; return its exit code.

    With `replay=False` only what happens from now on is reported (a run continued after a decision).
    """
    seen_steps: dict[tuple[str, int], str] = {}
    last_trace_id = 0
    if not replay:
        seen_steps = {(row.step_id, row.attempt): row.status for row in records.steps(run_id)}
        last_trace_id = max((item.id for item in records.trace(run_id)), default=0)
    started = time.monotonic()
    while True:
        run = records.run(run_id)
        news: list[tuple[str, Event]] = []
        for row in records.steps(run_id):
            key = (row.step_id, row.attempt)
            if seen_steps.get(key) != row.status:
                seen_steps[key] = row.status
                news.append(
                    (
                        row.finished_at or row.started_at,
                        {
                            "event": "step",
                            "run": run_id,
                            "step": row.step_id,
                            "attempt": row.attempt,
                            "kind": row.kind,
                            "status": row.status,
                            "output": row.output[-400:],
                        },
                    )
                )
        for item in records.trace(run_id, after_id=last_trace_id):
            last_trace_id = item.id
            usage = json_object(item.data.get("usage"))
            news.append(
                (
                    item.created_at,
                    {
                        "event": "turn",
                        "run": run_id,
                        "step": item.step_id,
                        "member": item.member,
                        "turn": item.turn,
                        "status": item.data.get("status"),
                        "tokens": usage.get("total_tokens", 0),
                        **(
                            {"tool": item.data.get("tool"), "outcome": item.data.get("outcome")}
                            if "tool" in item.data
                            else {}
                        ),
                    },
                )
            )
        for _, news_event in sorted(news, key=lambda pair: pair[0]):
            say({**news_event, "elapsed_s": round(time.monotonic() - started, 1)})
        pending = records.pending_reviews(run_id)
        if run.status in TERMINAL or (run.status == "waiting" and pending):
            event: Event = {"event": "run", "run": run_id, "status": run.status, "message": run.message}
            if pending:
                event.update(review=pending[-1].id, artifact_sha256=pending[-1].artifact_sha256)
            say(event)
            return exit_code(run.status)
        time.sleep(poll_s)
