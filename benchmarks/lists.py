"""Every list at 10,000 and at 100,000 runs: each page's time, and how much it grows.

A store is seeded through the product's own records (crewgate's Records, reply log
and batch insert, as a run writes them): per run a step, two trace events, a model
call and a review item, one in ten pending, the others approved. The first 10,000
runs hold one large batch (every tenth run: 1,000 runs) and, at both sizes, one run
in ten belongs to a batch of 20 (50 of them at 10,000 runs, 500 at 100,000), so the
batches list's first page shows 50 batches of the same shape at both sizes. Then
every list is read through the service function its surfaces (CLI, pages, API)
call: its first page and a page deep inside it (by cursor), 30 times each; the
median is reported at 10,000 runs, the store is seeded on to 100,000, and each is
read again. Goal: every list under 100 ms at 100,000 runs,
and growing less than 2x from 10,000.

Seeding writes with SQLite's `synchronous=OFF` (only here: the reads measured do not
depend on it) and takes a few minutes. Run by `make bench`; writes
benchmarks/results/lists.json.
"""

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from agents import ModelReply, Usage  # noqa: E402
from workflows.runs.replies import RecordedReplies  # noqa: E402
from workflows.runs.services import RunServices, open_blobs  # noqa: E402
from workflows.service.batch_list import list_batches  # noqa: E402
from workflows.service.batches import show_batch  # noqa: E402
from workflows.service.queue import review_queue  # noqa: E402
from workflows.service.runs import list_runs, show_run  # noqa: E402
from workflows.service.views import QueueQuery  # noqa: E402
from workflows.store.batches import insert_batch  # noqa: E402
from workflows.store.cursors import encode_cursor  # noqa: E402
from workflows.store.database import Store  # noqa: E402
from workflows.store.records import Records  # noqa: E402
from workflows.store.rows import NewBatch, NewRun  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "lists.json"
SIZES = (10_000, 100_000)
LARGE_BATCH = "b-large"  # every tenth of the first 10,000 runs: the batch whose runs and queue are read
SMALL_BATCH = 20  # runs per small batch: one run in ten (number % 10 == 1) is in one
GOAL_MS = 100.0
READS = 30
POLICY = '{"required": 1, "reviewers": ["any"], "allow_requester": false}'
REPLY = "I changed calc/ops.py and ran the tests.\n<execute>\nimport subprocess\n</execute>\n" * 8


def new_run(number: int, batch: str | None) -> NewRun:
    return NewRun(
        id=f"r{number:011d}",
        runbook="add-feature",
        version="1.0.0",
        sha256="b" * 64,
        inputs={"request": f"Add function number {number} to calc/ops.py", "repo": "/src/calculator"},
        models={"coder": "openai/gpt-4o"},
        image="crewgate-sandbox:0.1.0-2",
        image_id="sha256:" + "c" * 64,
        requester=("alice", "bob", "carol")[number % 3],
        base_commit="d" * 40,
        base_snapshot="e" * 64,
        batch_id=batch,
        schedule=None,
        hosted_by=None,
        model_override=None,
    )


def in_a_batch(number: int) -> bool:
    return (number % 10 == 0 and number < 10_000) or number % 10 == 1


def batch_starting_at(number: int) -> tuple[str, tuple[NewRun, ...]]:
    """The batch whose runs are recorded at run `number` (its first), or ("", ()) where none starts."""
    if number == 0:
        return LARGE_BATCH, tuple(new_run(member, LARGE_BATCH) for member in range(0, 10_000, 10))
    if number % (10 * SMALL_BATCH) == 1:
        batch = f"b{number // (10 * SMALL_BATCH):05d}"
        return batch, tuple(new_run(member, batch) for member in range(number, number + 10 * SMALL_BATCH, 10))
    return "", ()


def seed(records: Records, start: int, stop: int, say: Callable[[str], None]) -> None:
    """Runs start..stop-1 as a run writes them: its row, a step, its trace, a model call, a review item."""
    began = time.perf_counter()
    for number in range(start, stop):
        batch, members = batch_starting_at(number)
        if members:  # a batch's runs are recorded with it
            with records.engine.begin() as db:
                insert_batch(
                    db, NewBatch(batch, "add-feature", "1.0.0", 4, "rows.csv", "alice", members), records.timestamp()
                )
        if not in_a_batch(number):
            records.create_run(new_run(number, None))
        run_id = f"r{number:011d}"
        records.start_step(run_id, "implement", 1, "task")
        for turn in (1, 2):
            records.add_trace(run_id, "implement", 1, "coder", turn, {"status": "turn", "reply": REPLY, "turn": turn})
        usage = Usage(prompt_tokens=1800, completion_tokens=240, cost_usd=0.0069, calls=1)
        RecordedReplies(records.engine, run_id, records.clock).record(
            "implement#1", "coder", 0, ModelReply(REPLY, usage, "stop")
        )
        records.finish_step(run_id, "implement", 1, "done", "added the function; 12 tests pass", {"cost_usd": 0.0069})
        records.open_review(
            id=f"{run_id}-approve-1", run_id=run_id, step_id="approve", artifact_sha256="a" * 64, policy=POLICY,
            evidence='{"outputs": {}}', requester=new_run(number, None).requester, expires_at=None,
            lines_added=12, lines_removed=2, paths=2, change_key=None,
        )  # fmt: skip
        pending = number % 10 == 5
        if not pending:
            records.decide(f"{run_id}-approve-1", "dave", "approve", "", "a" * 64)
        records.set_run(run_id, status="waiting" if pending else "promoted")
        if (number + 1) % 10_000 == 0:
            say(f"  seeded {number + 1:,} runs ({time.perf_counter() - began:.0f} s)")


def lists(services: RunServices, size: int) -> dict[str, Callable[[], Any]]:
    """Each list's first page and a page deep inside it (its cursor made from a row halfway down)."""
    middle = f"r{size // 2:011d}"
    at = services.records.run(middle).created_at
    deep_runs = encode_cursor(at, middle)
    deep_queue = encode_cursor(1, services.records.review(f"{middle}-approve-1").created_at, f"{middle}-approve-1")
    batch = LARGE_BATCH
    batch_page = show_batch(services, batch, 50)
    return {
        "runs list, first page": lambda: list_runs(services, 50),
        "runs list, page 1,000 (cursor)": lambda: list_runs(services, 50, deep_runs),
        "review queue, first page (pending first)": lambda: review_queue(services, QueueQuery(limit=50)),
        "review queue, pending only": lambda: review_queue(services, QueueQuery(status="pending", limit=50)),
        "review queue, web page (clusters apart)": lambda: review_queue(
            services, QueueQuery(limit=50, without_clusters=True)
        ),
        "review queue, deep in the decided items (cursor)": lambda: review_queue(
            services, QueueQuery(limit=50, cursor=deep_queue)
        ),
        "review queue, one batch": lambda: review_queue(services, QueueQuery(batch=batch, limit=50)),
        "batches list, first page": lambda: list_batches(services, 50),
        "a batch's runs, first page": lambda: show_batch(services, batch, 50),
        "a batch's runs, second page (cursor)": lambda: show_batch(services, batch, 50, batch_page.runs_cursor),
        "runs show (one run)": lambda: show_run(services, middle),
    }


def measure(read: Callable[[], Any]) -> float:
    read()  # the first read warms the caches
    samples = []
    for _ in range(READS):
        began = time.perf_counter()
        read()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def main() -> None:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'crewgate.db'}")
        store.engine.dispose()
        event.listen(store.engine, "connect", lambda connection, _: connection.execute("PRAGMA synchronous=OFF"))
        records = Records(store.engine)
        services = RunServices(store, records, open_blobs(store.engine, Path(folder) / "blobs"))
        seeded = 0
        for size in SIZES:
            seed(records, seeded, size, print)
            seeded = size
            megabytes = (Path(folder) / "crewgate.db").stat().st_size / 2**20
            print(f"{size:,} runs ({megabytes:.0f} MiB):")
            for name, read in lists(services, size).items():
                results.setdefault(name, {})[str(size)] = round(measure(read), 2)
                print(f"  {name}: {results[name][str(size)]:.1f} ms")
        store.close()
    rows = []
    for name, times in results.items():
        small, large = times[str(SIZES[0])], times[str(SIZES[1])]
        growth = large / small if small else 0.0
        verdict = "within" if large <= GOAL_MS and growth < 2 else "OVER"
        rows.append({"list": name, "ms_at_10000": small, "ms_at_100000": large, "growth": round(growth, 2)})
        print(f"{name}: {small:.1f} ms -> {large:.1f} ms (x{growth:.2f}; {verdict} the goal)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"goal_ms": GOAL_MS, "reads": READS, "lists": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
