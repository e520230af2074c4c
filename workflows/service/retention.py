"""`crewgate runs prune`: keep the store bounded by removing what ended runs no longer need.

The store grows about 15 MiB per 1,000 runs, half of it trace events. Pruning the
runs that ended before a date removes their trace events, the bodies of their model
and tool calls, and the blobs (snapshots, artifacts) no other run uses; decisions,
promotions, reviews, steps and costs stay (store/retention.py says exactly what).

Safe while workers run: only ended runs without a pending review are touched, each
one checked again inside the transaction that prunes it, and a blob stored again
within SAFETY of the prune's start is kept, so a run starting now on the same bytes
(a batch over one repository shares its base snapshot) never loses them. On SQLite
the database file is compacted afterwards (VACUUM), when no other process holds it.
"""

import datetime
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..clock import stamp
from ..durations import parse_duration
from ..errors import BadInput
from ..store.retention import RowCounts, blobs_of, measure, prunable_runs, prune_rows, referrers

if TYPE_CHECKING:
    from ..runs.services import RunServices

SAFETY = datetime.timedelta(minutes=10)  # a blob stored again this recently is kept: a run may be starting on it


@dataclass(frozen=True)
class PruneReport:
    """What a prune removed (or, with `dry_run`, would remove)."""

    dry_run: bool
    ended_before: str
    runs: list[str]
    rows: RowCounts
    blobs: int
    blob_bytes: int
    database_bytes_before: int | None = None  # SQLite: the database file (and its WAL); None on PostgreSQL
    database_bytes_after: int | None = None
    notes: list[str] = field(default_factory=list)


def ended_before(now: datetime.datetime, before: str | None, older_than: str | None) -> datetime.datetime:
    """The cut-off of `--before DATE` or `--older-than AGE` (exactly one of them). BadInput says what is wrong."""
    if before is None and older_than is not None:
        return _aged(now, older_than)
    if before is not None and older_than is None:
        return _dated(now, before)
    raise BadInput("say which runs to prune: --before DATE (e.g. 2026-09-01) or --older-than AGE (e.g. 90d)")


def _aged(now: datetime.datetime, older_than: str) -> datetime.datetime:
    try:
        age = parse_duration(older_than)
        if age is None:
            raise BadInput(f"--older-than {older_than!r}: write an age as a number and s, m, h or d, e.g. 90d")
        return now - age
    except OverflowError:
        raise BadInput(f"--older-than {older_than!r} reaches before the year 1: give a shorter age") from None


def _dated(now: datetime.datetime, before: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(before.strip())
    except ValueError:
        raise BadInput(f"--before {before!r}: write a date or time as 2026-09-01 or 2026-09-01T12:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    if moment > now:
        raise BadInput(f"--before {before}: that is in the future; every run ended before it would be pruned")
    return moment


def prune_runs(
    services: "RunServices", cutoff: datetime.datetime, dry_run: bool, progress: Callable[[str], None] | None = None
) -> PruneReport:
    """Prune the runs that ended before `cutoff` (or count what that would remove)."""
    say = progress or (lambda _: None)
    engine = services.store.engine
    started = services.clock()
    ids = prunable_runs(engine, stamp(cutoff))
    say(f"{len(ids)} ended run(s) to prune")
    candidates = blobs_of(engine, ids)
    if dry_run:
        rows = sum(measure(engine, ids).values(), RowCounts())
        using = referrers(engine, candidates)
        free = sorted(sha for sha in candidates if not using.get(sha, set()) - set(ids))
        sizes = [services.blobs.size(sha) for sha in free]
        return PruneReport(True, stamp(cutoff), ids, rows, sum(size > 0 for size in sizes), sum(sizes))
    size_before = _database_bytes(services)
    pruned = prune_rows(engine, ids, stamp(started))
    say(f"pruned the rows of {len(pruned)} run(s); removing the blobs no other run uses")
    using = referrers(engine, candidates)
    removed = freed = 0
    for sha in sorted(sha for sha in candidates if not using.get(sha)):
        size = services.blobs.remove_unused(sha, started - SAFETY)
        removed += size > 0
        freed += size
    notes = _compact(services)
    skipped = len(ids) - len(pruned)
    if skipped:
        notes.append(
            f"{skipped} run(s) changed while pruning (resumed, or a review reopened) and were left as they are"
        )
    rows = sum(pruned.values(), RowCounts())
    return PruneReport(
        False, stamp(cutoff), sorted(pruned), rows, removed, freed, size_before, _database_bytes(services), notes
    )


def _compact(services: "RunServices") -> list[str]:
    """VACUUM a SQLite database so its file shrinks; a busy database is left for later, said so."""
    engine = services.store.engine
    if engine.dialect.name != "sqlite":
        return ["PostgreSQL reuses the freed space itself (autovacuum); the database does not shrink on disk"]
    raw = engine.raw_connection()  # outside SQLAlchemy's transactions (the store begins each one IMMEDIATE)
    try:
        raw.execute("VACUUM")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError as exc:
        return [f"the database file was not compacted ({exc}): run `crewgate runs prune` again when it is quiet"]
    finally:
        raw.close()
    return []


def _database_bytes(services: "RunServices") -> int | None:
    """The SQLite database's size on disk (its file and write-ahead log); None for PostgreSQL."""
    engine = services.store.engine
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    path = Path(engine.url.database)
    return sum(found.stat().st_size for found in (path, path.with_name(path.name + "-wal")) if found.exists())
