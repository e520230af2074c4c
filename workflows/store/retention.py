"""What `crewgate runs prune` removes of ended runs, as table operations, and what it never touches.

A pruned run keeps its row, its steps (status, output, usage), its reviews with their
evidence, every decision, its promotion and its costs: what was decided, by whom, on
which bytes (sha256), and what it cost. It loses its trace events (most of the store),
the bodies of its model calls (the reply and reasoning texts: their tokens and cost
stay) and of its tool calls (arguments, results, messages: the tool and outcome stay),
and the blobs only it uses (workspace snapshots, artifacts). A run that is not ended,
or that has a pending review, is never pruned. Each run's row says when and what
(`runs.pruned`), and `runs show` tells it.
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, update
from sqlalchemy.engine import Connection, Engine

from .rows import TERMINAL
from .tables import model_calls, reviews, runs, steps, tool_calls, trace

CHUNK = 200  # runs per transaction: short transactions, so workers writing meanwhile are not held up


@dataclass(frozen=True)
class RowCounts:
    """What pruning removes (or removed) from the tables, over some runs."""

    trace_events: int = 0
    model_call_bodies: int = 0
    tool_call_bodies: int = 0

    def __add__(self, other: "RowCounts") -> "RowCounts":
        return RowCounts(
            self.trace_events + other.trace_events,
            self.model_call_bodies + other.model_call_bodies,
            self.tool_call_bodies + other.tool_call_bodies,
        )


def prunable_runs(engine: Engine, ended_before: str) -> list[str]:
    """Runs ended before `ended_before` (a stored time), not pruned yet, with no pending review; oldest first."""
    pending = exists().where(reviews.c.run_id == runs.c.id, reviews.c.status == "pending")
    query = (
        select(runs.c.id)
        .where(
            runs.c.status.in_(sorted(TERMINAL)),
            runs.c.updated_at < ended_before,
            runs.c.pruned.is_(None),
            ~pending,
        )
        .order_by(runs.c.updated_at)
    )
    with engine.connect() as db:
        return list(db.execute(query).scalars())


def measure(engine: Engine, run_ids: Sequence[str]) -> dict[str, RowCounts]:
    """What pruning would remove of each run, read and nothing changed."""
    found: dict[str, RowCounts] = {run_id: RowCounts() for run_id in run_ids}
    with engine.connect() as db:
        for chunk in _chunks(run_ids):
            for run_id, counts in _counts(db, chunk).items():
                found[run_id] = counts
    return found


def prune_rows(engine: Engine, run_ids: Sequence[str], pruned_at: str) -> dict[str, RowCounts]:
    """Remove the trace events and blank the call bodies of these runs, and say so in each run's row.

    A run that changed meanwhile (resumed, or a review reopened: it is no longer ended, or has a
    pending review) is left as it is; the others are pruned, CHUNK runs to a transaction.
    """
    pruned: dict[str, RowCounts] = {}
    for chunk in _chunks(run_ids):
        with engine.begin() as db:
            still = _still_prunable(db, chunk)
            if not still:
                continue
            counts = _counts(db, still)
            db.execute(trace.delete().where(trace.c.run_id.in_(still)))
            db.execute(
                update(model_calls)
                .where(model_calls.c.run_id.in_(still), _reply_body())
                .values(reply="", reasoning=None)
            )
            db.execute(
                update(tool_calls)
                .where(tool_calls.c.run_id.in_(still), _tool_body())
                .values(arguments="{}", result=None, message=None)
            )
            for run_id in still:
                record = {"at": pruned_at, **asdict(counts[run_id])}
                db.execute(update(runs).where(runs.c.id == run_id).values(pruned=json.dumps(record)))
            pruned.update(counts)
    return pruned


def blobs_of(engine: Engine, run_ids: Sequence[str]) -> set[str]:
    """The blobs these runs refer to: base snapshots, the snapshots their steps left, their artifacts."""
    found: set[str] = set()
    with engine.connect() as db:
        for chunk in _chunks(run_ids):
            found |= _names(db, select(runs.c.base_snapshot).where(runs.c.id.in_(chunk)))
            found |= _names(db, select(steps.c.snapshot).where(steps.c.run_id.in_(chunk)))
            found |= _names(db, select(reviews.c.artifact_sha256).where(reviews.c.run_id.in_(chunk)))
    return found


def referrers(engine: Engine, candidates: Iterable[str]) -> dict[str, set[str]]:
    """For each of `candidates`, the runs not pruned that still refer to it (a pending review's run always
    counts): a blob with none is used by no run that keeps its blobs."""
    found: dict[str, set[str]] = {}
    with engine.connect() as db:
        for chunk in _chunks(sorted(candidates)):
            for query in _referring(chunk):
                for sha, run_id in db.execute(query):
                    found.setdefault(str(sha), set()).add(str(run_id))
    return found


def _referring(chunk: list[str]) -> tuple[Select[str | None, str], ...]:
    """(blob, run) pairs of the runs not pruned that refer to a blob of `chunk`, one query per kind of blob."""
    kept = runs.c.pruned.is_(None)
    return (
        select(runs.c.base_snapshot, runs.c.id).where(runs.c.base_snapshot.in_(chunk), kept),
        select(steps.c.snapshot, steps.c.run_id)
        .join(runs, runs.c.id == steps.c.run_id)
        .where(steps.c.snapshot.in_(chunk), kept),
        select(reviews.c.artifact_sha256, reviews.c.run_id)
        .join(runs, runs.c.id == reviews.c.run_id)
        .where(reviews.c.artifact_sha256.in_(chunk), or_(kept, reviews.c.status == "pending")),
    )


def _still_prunable(db: Connection, chunk: Sequence[str]) -> list[str]:
    pending = exists().where(reviews.c.run_id == runs.c.id, reviews.c.status == "pending")
    query = select(runs.c.id).where(
        runs.c.id.in_(chunk), runs.c.status.in_(sorted(TERMINAL)), runs.c.pruned.is_(None), ~pending
    )
    return list(db.execute(query).scalars())


def _counts(db: Connection, chunk: Sequence[str]) -> dict[str, RowCounts]:
    events = _grouped(db, trace.c.run_id, trace.c.run_id.in_(chunk))
    replies = _grouped(
        db,
        model_calls.c.run_id,
        and_(model_calls.c.run_id.in_(chunk), _reply_body()),
    )
    calls = _grouped(db, tool_calls.c.run_id, and_(tool_calls.c.run_id.in_(chunk), _tool_body()))
    return {run_id: RowCounts(events.get(run_id, 0), replies.get(run_id, 0), calls.get(run_id, 0)) for run_id in chunk}


def _grouped(db: Connection, column: ColumnElement[str], where: ColumnElement[bool]) -> dict[str, int]:
    query = select(column, func.count()).where(where).group_by(column)
    return {str(run_id): int(count) for run_id, count in db.execute(query)}


def _reply_body() -> ColumnElement[bool]:
    return or_(model_calls.c.reply != "", model_calls.c.reasoning.is_not(None))


def _tool_body() -> ColumnElement[bool]:
    return or_(tool_calls.c.arguments != "{}", tool_calls.c.result.is_not(None), tool_calls.c.message.is_not(None))


def _names(db: Connection, query: Select[str | None]) -> set[str]:
    return {name for name in db.execute(query).scalars() if name}


def _chunks(items: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield list(items[start : start + CHUNK])
